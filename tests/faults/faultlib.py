#!/usr/bin/python3
# faultlib.py: helpers for the fault tests (issue 11 item 8) and the soak:
# back-ends in their own processes (killable), the gateway's descriptors and
# memory from /proc, streaming WebSocket clients that hash both ways, and
# the certificate a fresh TLS connection is shown.
# Builds on tests/e2e/harness.py and tests/e2e-proxy/proxylib.py.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import contextlib
import hashlib
import os
import resource
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e-proxy"))
import proxylib as p  # noqa: E402
from proxylib import h, KiB, MiB  # noqa: E402,F401

BACKEND = os.path.join(HERE, "backend.py")


def raise_nofile():
    """Raise our soft descriptor limit to the hard one (1,000 clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --------------------------------------------------------------------------
# The gateway process, seen from /proc


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    return p.rss_kib(pid)


def wait_until(predicate, timeout, interval=0.1):
    """Poll predicate() until it is true or `timeout` s pass; returns its
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def count_lines(gw, needle):
    with gw.cond:
        return sum(1 for l in gw.stderr if needle in l)


# --------------------------------------------------------------------------
# Back-ends in their own process


class Backend:
    """tests/faults/backend.py as a child process: `echo` or `sink` (TLS
    with a Cert; a sink pauses `pause` s after each read) or `silent`.  Its stdout lines "closed IN SHA" are collected."""

    def __init__(self, mode, cert=None, name=None, pause=0.0):
        self.name = name or f"backend-{mode}"
        argv = ["/usr/bin/python3", BACKEND, mode, "--pause", str(pause)]
        if cert is not None:
            argv += ["--cert", cert.cert, "--key", cert.key]
        # stdin is a pipe we hold: the child exits if this process dies
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.lines = []
        self.cond = threading.Condition()
        first = self.proc.stdout.readline().decode().split()
        if len(first) != 2 or first[0] != "port":
            self.kill()
            raise h.Fail(f"{self.name} did not start: {first!r}")
        self.port = int(first[1])
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()

    def total(self):
        """A sink's latest "total N": bytes read so far, all connections."""
        with self.cond:
            for l in reversed(self.lines):
                if l.startswith("total "):
                    return int(l.split()[1])
        return 0

    def closed(self):
        """(bytes in, sha256) per finished connection."""
        with self.cond:
            return [tuple(l.split()[1:3]) for l in self.lines if l.startswith("closed ")]

    def kill(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        with contextlib.suppress(OSError):
            self.proc.stdin.close()


# --------------------------------------------------------------------------
# Streaming clients


class Stream:
    """What one streaming client did: SHA-256 and byte counts both ways, the
    close code it got, the error if any."""

    def __init__(self, name):
        self.name = name
        self.sent = hashlib.sha256()
        self.got = hashlib.sha256()
        self.n_sent = 0
        self.n_got = 0
        self.close_code = None
        self.close_reason = None
        self.error = None
        self.closed_at = None
        self.marks = [(0, self.sent.hexdigest())]   # (bytes, sha) after each message

    def __repr__(self):
        return (f"{self.name}: sent {self.n_sent} got {self.n_got} close {self.close_code} "
                f"{self.close_reason!r} error {self.error}")


SIZES = [64 * KiB, 7, 16 * KiB, 125, 126, 65535, 65537, 1000, 200 * KiB]


async def stream_echo(uri, ctx, stop, rec, pattern, sizes=SIZES, pace=0.0,
                      close=True, max_ahead=2 * MiB):
    """Send binary messages of `pattern` until `stop` (an asyncio.Event) is
    set, reading the echo all along; then wait for every byte to come back
    and close with 1000.  `rec` (a Stream) records it all.  At most
    `max_ahead` bytes are unanswered at any time (the echo must keep up).
    With close=False the client stops at `stop` and waits for the server's
    close instead (the close code is recorded)."""
    ws = h.import_websockets()
    try:
        async with h.ws_connect(uri, ctx, server_hostname="localhost" if ctx else None) as c:
            async def reader():
                while True:
                    m = await c.recv()
                    rec.got.update(m)
                    rec.n_got += len(m)

            rtask = asyncio.ensure_future(reader())
            try:
                i = 0
                while not stop.is_set() and not rtask.done():
                    if rec.n_sent - rec.n_got > max_ahead:
                        await asyncio.sleep(0.005)
                        continue
                    piece = pattern.chunk(i, sizes[i % len(sizes)])
                    await c.send(piece)
                    rec.sent.update(piece)
                    rec.n_sent += len(piece)
                    i += 1
                    if pace:
                        await asyncio.sleep(pace)
                if close:
                    deadline = time.monotonic() + 30
                    while rec.n_got < rec.n_sent and not rtask.done() and time.monotonic() < deadline:
                        await asyncio.sleep(0.01)
                    rtask.cancel()
                    await asyncio.wait_for(c.close(1000, "done"), 10)
                else:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(asyncio.shield(rtask), 30)
            finally:
                rtask.cancel()
                with contextlib.suppress(BaseException):
                    await rtask
            rec.close_code = c.close_rcvd.code if c.close_rcvd else c.close_code
            rec.close_reason = c.close_rcvd.reason if c.close_rcvd else None
    except ws.exceptions.ConnectionClosed as e:
        rec.close_code = e.rcvd.code if e.rcvd else e.code
        rec.close_reason = e.rcvd.reason if e.rcvd else None
        rec.error = f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - recorded for the test to judge
        rec.error = f"{type(e).__name__}: {e}"
    rec.closed_at = time.monotonic()
    return rec


# --------------------------------------------------------------------------
# TLS and raw WebSocket clients


def presented_cert_sha256(port, host="127.0.0.1", sni="localhost", cafile=None):
    """The SHA-256 of the leaf certificate a new TLS connection to
    host:port is shown (verified against `cafile` when given)."""
    if cafile:
        ctx = h.client_ssl_context(cafile=cafile)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), 10) as s:
        with ctx.wrap_socket(s, server_hostname=sni) as t:
            return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()


def raw_ws_open(port, path, host="127.0.0.1", timeout=10.0):
    """A plain ws:// client on a blocking socket, upgraded; returns
    (socket, RawWs)."""
    s = p.connected_socket(port, host, timeout=timeout)
    try:
        c = p.RawWs.open(s, f"localhost:{port}", path, timeout=timeout)
    except BaseException:
        s.close()
        raise
    return s, c


def raw_ws_echo(c, payload, timeout=10.0):
    """Send one binary message on a RawWs and wait for it to come back."""
    c.send(0x2, payload)
    got = b""
    deadline = time.monotonic() + timeout
    while len(got) < len(payload):
        for fin, op, data in c.take_frames():
            if op == 0x8:
                raise h.Fail(f"closed by the gateway: {data!r}")
            if op in (0x0, 0x2):
                got += data
        if len(got) >= len(payload):
            break
        if time.monotonic() > deadline:
            raise h.Fail(f"echo of {len(payload)} bytes not back within {timeout} s")
        if c.feed_from_socket(256 * KiB) == 0:
            raise h.Fail("the gateway closed the connection during an echo")
    if got != payload:
        raise h.Fail(f"echo differs: {h.short(got)} for {h.short(payload)}")


def abort(sock):
    """Close a socket with SO_LINGER 0: the peer gets a RST, no FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
