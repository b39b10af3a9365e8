#!/usr/bin/python3
# test_drain.py: issue 11 item 8 (the SIGTERM part) -- a draining gateway:
# 20 transfers in flight through a wss→ssl proxy when SIGTERM arrives: every
# byte a client sent before it saw the close reaches the back-end (SHA-256
# at both ends), each client gets 1001, exit 0 within the drain deadline.
# Byte sessions run on until they end or --drain-timeout; a second SIGTERM
# stops at once.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402,F401
from opslib import h, p  # noqa: E402

T = h.Tap(case_timeout=120)
# An ASan build (make check-asan, POSTERN_SANITIZED=1) is many times slower
# (fast_unwind_on_malloc=0 unwinds at every malloc): there the point is
# memory errors on the drain path, with fewer transfers and longer waits.
SANITIZED = bool(os.environ.get("POSTERN_SANITIZED"))
CLIENTS = 5 if SANITIZED else 20
CHUNK = 16 * 1024
BEFORE_SIGNAL = 256 * 1024     # each client has sent this much when SIGTERM comes
HEADER = 16
SLOW = 4 if SANITIZED else 1
OPEN_TIMEOUT = 20 * SLOW
STREAM_TIMEOUT = 60 * SLOW


def sink_handler(conn, record):
    """Read until EOF: count, SHA-256, and the client's name (its first
    16 bytes)."""
    d = hashlib.sha256()
    head = b""
    record["head"] = None
    while True:
        data = conn.recv(256 * 1024)
        if not data:
            break
        if len(head) < HEADER:
            head += data[:HEADER - len(head)]
            record["head"] = head
        d.update(data)
        record["in"] += len(data)
    record["head"] = head
    record["sha256"] = d.hexdigest()


def firehose_handler(after):
    """A back-end that sends without pause (never reading what comes) and,
    once the gateway's end (EOF) arrives, goes on sending for `after`
    seconds, then closes: records when the EOF came, what it sent after
    it, and any error (a reset) from sending or reading."""
    def handler(conn, record):
        chunk = b"f" * (16 * 1024)
        record.update(eof_at=None, sent_after_eof=0, closed_at=None)
        conn.settimeout(0.05)
        until = time.monotonic() + 60
        while time.monotonic() < until:
            eof_at = record["eof_at"]
            if eof_at is not None and time.monotonic() - eof_at >= after:
                break
            try:
                if conn.recv(256 * 1024) == b"" and eof_at is None:
                    record["eof_at"] = time.monotonic()
            except socket.timeout:
                pass
            try:
                n = conn.send(chunk)
                record["out"] += n
                if record["eof_at"] is not None:
                    record["sent_after_eof"] += n
            except socket.timeout:
                pass
        record["closed_at"] = time.monotonic()
    return handler


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        leaf = self.pki.server("localhost")
        self.sink = p.Server("tls-sink", sink_handler, ssl_ctx=p.server_ssl_context(leaf))
        T.add_cleanup(self.sink.close)
        self.tcp_echo = p.Server("tcp-echo", p.echo_handler)
        T.add_cleanup(self.tcp_echo.close)
        self.firehose_1s = p.Server("firehose-1s", firehose_handler(1.0))
        T.add_cleanup(self.firehose_1s.close)
        self.firehose = p.Server("firehose", firehose_handler(60))
        T.add_cleanup(self.firehose.close)
        trust = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.wss_port, self.tcp_port, self.linger1_port, self.linger_port = h.free_ports(4)
        self.wss_url = f"wss://localhost:{self.wss_port}/drain"
        self.tcp_url = f"tcp://127.0.0.1:{self.tcp_port}"
        text = p.config_xml([
            h.service_xml("drain", "proxy", [self.wss_url], [f"ssl://localhost:{self.sink.port}"]),
            h.service_xml("bytes", "proxy", [self.tcp_url], [f"tcp://127.0.0.1:{self.tcp_echo.port}"]),
            h.service_xml("linger1", "proxy", [f"tcp://127.0.0.1:{self.linger1_port}"],
                          [f"tcp://127.0.0.1:{self.firehose_1s.port}"]),
            h.service_xml("linger", "proxy", [f"tcp://127.0.0.1:{self.linger_port}"],
                          [f"tcp://127.0.0.1:{self.firehose.port}"]),
        ], keystore=self.keystore.relative_to(self.dir),
            truststore=os.path.basename(trust))
        self.config = h.write_config(self.dir, text)
        self.urls = [self.wss_url, self.tcp_url, f"tcp://127.0.0.1:{self.linger1_port}",
                     f"tcp://127.0.0.1:{self.linger_port}"]

    def ctx(self):
        return self.keystore.client_context()

    def start(self, *args):
        return h.start_gateway(self.config, self.urls, name="postern run (drain)", extra_args=args)


setup = h.Fixture("PKI, TLS sink back-end, TCP echo, config", Setup)


class Sender:
    """One client streaming 16 KiB binary messages until the gateway's
    close frame: `boundaries` maps each prefix length it tried to send to
    the SHA-256 of that prefix; `confirmed` is the length of what send()
    accepted before the close."""

    def __init__(self, index):
        self.index = index
        self.name = f"drain-client-{index:02d}".encode().ljust(HEADER, b".")
        self.pattern = p.Pattern(index, base_size=1024 * 1024)
        self.boundaries = {}
        self.confirmed = 0
        self.close_code = None
        self.close_reason = None
        self.error = None

    async def open(self, url, ctx):
        ws = h.import_websockets()
        self.conn = await ws.connect(url, ssl=ctx, max_size=None, ping_interval=None,
                                     open_timeout=OPEN_TIMEOUT, close_timeout=10, compression=None)

    async def run(self, started):
        ws = h.import_websockets()
        conn = self.conn
        d = hashlib.sha256()
        total = 0
        i = 0
        try:
            while True:
                msg = self.name if i == 0 else self.pattern.chunk(i, CHUNK)
                d.update(msg)
                total += len(msg)
                self.boundaries[total] = d.hexdigest()
                await conn.send(msg)
                self.confirmed = total
                # asyncio's transports drop writes to a connection that was
                # reset until the loop runs its callbacks: yield, so that a
                # reset ends this loop instead of spinning it.
                await asyncio.sleep(0)
                if total >= BEFORE_SIGNAL:
                    started.set()
                i += 1
        except ws.exceptions.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - reported by the case
            self.error = f"{type(e).__name__}: {e}"
        await conn.wait_closed()
        if conn.close_rcvd is not None:
            self.close_code = conn.close_rcvd.code
            self.close_reason = conn.close_rcvd.reason


@T.case(f"SIGTERM with {CLIENTS} wss→ssl transfers in flight: every byte sent before the "
        "close reaches the back-end (SHA-256 both ends), close 1001, exit 0 within the deadline",
        timeout=150 * SLOW)
def _():
    s = setup.get()
    before = len(s.sink.records)
    gw = s.start()
    with gw:
        senders = [Sender(i) for i in range(CLIENTS)]

        async def main():
            # All sessions open first, one after the other (20 concurrent TLS
            # handshakes can outlast the gateway's 10 s handshake deadline
            # under ASan on a loaded machine), then all stream at once.
            for x in senders:
                await x.open(s.wss_url, s.ctx())
            events = [asyncio.Event() for _ in senders]
            tasks = [asyncio.ensure_future(x.run(e)) for x, e in zip(senders, events)]
            try:
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), STREAM_TIMEOUT)
            except asyncio.TimeoutError:
                raise h.Fail(f"not every client had sent {BEFORE_SIGNAL} bytes within "
                             f"{STREAM_TIMEOUT} s: {[x.confirmed for x in senders]}; errors: "
                             f"{[x.error for x in senders if x.error]}") from None
            t0 = time.monotonic()
            sys.stdout.write(f"# SIGTERM after {[x.confirmed for x in senders]}\n")
            sys.stdout.flush()
            gw.signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*tasks), 40)
            return t0

        t0 = h.arun(main(), OPEN_TIMEOUT + STREAM_TIMEOUT + 45)
        sys.stdout.write(f"# clients done {time.monotonic() - t0:.2f} s after SIGTERM\n")
        rc = gw.wait_exit(35)
        took = time.monotonic() - t0
        h.require(rc is not None, f"still running {took:.1f} s after SIGTERM")
        h.check_equal(rc, 0, "exit status after SIGTERM")
        h.require(took < 30, f"exit {took:.1f} s after SIGTERM: not within the 30 s drain deadline")
        records = s.sink.wait_records(before + CLIENTS, 20)[before:]
        by_name = {r.get("head"): r for r in records}
        sent_total = 0
        for x in senders:
            h.require(x.error is None, f"client {x.index}: {x.error}")
            h.check_equal(x.close_code, 1001, f"client {x.index}: close code from the gateway")
            r = by_name.get(x.name)
            h.require(r is not None, f"client {x.index}: no back-end connection carried its data; "
                      f"back-end records: {[(q.get('head'), q['in'], q['error']) for q in records]}")
            h.require(r["error"] is None, f"client {x.index}: back-end error {r['error']}")
            got = r["in"]
            h.require(got >= x.confirmed,
                      f"client {x.index}: the back-end got {got} bytes, the client had sent "
                      f"{x.confirmed} before the close: {x.confirmed - got} lost")
            h.require(got in x.boundaries,
                      f"client {x.index}: the back-end got {got} bytes, not a whole number of messages")
            h.check_equal(r["sha256"], x.boundaries[got], f"client {x.index}: SHA-256 of the "
                          f"{got} bytes at the back-end vs what the client sent")
            sent_total += got
        closes = p.stderr_lines(gw, lambda l: " close drain " in l and "code=1001" in l)
        h.check_equal(len(closes), CLIENTS, "close lines with code=1001 in the log")
        sys.stdout.write(f"# {CLIENTS} clients, {sent_total / 1e6:.1f} MB delivered, "
                         f"exit {took:.2f} s after SIGTERM\n")


def byte_session(s):
    """A tcp:// byte session through the gateway, proven joined by an echo."""
    sock = p.connected_socket(s.tcp_port)
    sock.sendall(b"hello")
    got = b""
    while len(got) < 5:
        data = sock.recv(5 - len(got))
        h.require(data, "byte session closed before its echo")
        got += data
    h.check_equal(got, b"hello", "echo through the byte session")
    return sock


@T.case("a byte session runs on after SIGTERM (no new connections are accepted); "
        "a second SIGTERM stops at once with exit 0")
def _():
    s = setup.get()
    gw = s.start()
    with gw:
        sock = byte_session(s)
        gw.signal(signal.SIGTERM)
        time.sleep(1.5)
        h.require(gw.running(), f"exited while a byte session was open\n{gw.describe()}")
        h.require(h.nobody_accepts(s.tcp_port) and h.nobody_accepts(s.wss_port),
                  "still accepting connections while draining")
        sock.sendall(b"again")
        h.check_equal(sock.recv(5), b"again", "the byte session still works while draining")
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        rc = gw.wait_exit(5)
        took = time.monotonic() - t0
        sock.close()
        h.check_equal(rc, 0, "exit status after the second SIGTERM")
        h.require(took < 2, f"exit {took:.2f} s after the second SIGTERM: not at once")


@T.case("--drain-timeout 1.5: a byte session that does not end is dropped at the "
        "deadline, exit 0 about 1.5 s after SIGTERM")
def _():
    s = setup.get()
    gw = s.start("--drain-timeout", "1.5")
    with gw:
        sock = byte_session(s)
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        rc = gw.wait_exit(10)
        took = time.monotonic() - t0
        sock.close()
        h.check_equal(rc, 0, "exit status")
        h.require(1.4 <= took < 4, f"exit {took:.2f} s after SIGTERM, expected about 1.5 s")
        h.require(p.stderr_lines(gw, lambda l: "drain deadline reached" in l),
                  "no log line says the deadline dropped connections")


def end_firehose_session(s, port, server):
    """A byte session to a firehose back-end that the client ends while
    bytes are pouring in; returns the back-end's record once the gateway's
    end (EOF, not a reset) has reached it (bounded wait)."""
    before = len(server.records)
    sock = p.connected_socket(port)
    h.require(sock.recv(1024), "no bytes from the firehose back-end")
    # Bytes for the back-end (which never reads) queued in the gateway when
    # the session ends: what a reset would throw away, so the close must
    # linger.  (With every byte of its own acknowledged, the gateway closes
    # at once: a reset could lose nothing then.)
    sock.setblocking(False)
    pushed, until = 0, time.monotonic() + 0.5
    while time.monotonic() < until:
        try:
            pushed += sock.send(b"c" * 65536)
        except BlockingIOError:
            time.sleep(0.02)
    h.require(pushed > 0, "the client could send nothing toward the back-end")
    sock.close()   # unread bytes: a reset to the gateway
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        records = server.records[before:]
        if records and (records[0]["eof_at"] is not None or records[0]["error"] is not None
                        or records[0]["closed_at"] is not None):
            break
        time.sleep(0.02)
    records = server.records[before:]
    h.require(records, "the back-end saw no connection")
    r = records[0]
    h.require(r["error"] is None and r["eof_at"] is not None,
              f"the back-end did not get the gateway's end (FIN) while it was sending: {r}")
    return r


@T.case("a back-end still sending when its session ends gets the gateway's FIN, not a reset, "
        "and may go on sending (lingering close); SIGTERM waits for that socket to end (1 s later)")
def _():
    s = setup.get()
    gw = s.start()
    with gw:
        r = end_firehose_session(s, s.linger1_port, s.firehose_1s)
        gw.signal(signal.SIGTERM)
        rc = gw.wait_exit(15)
        exited = time.monotonic()
        deadline = time.monotonic() + 5
        while r["closed_at"] is None and time.monotonic() < deadline:
            time.sleep(0.02)
        h.check_equal(rc, 0, "exit status")
        h.require(r["error"] is None, f"the back-end's sending failed after the gateway's FIN: {r['error']}")
        h.require(r["sent_after_eof"] > 0 and r["closed_at"] is not None,
                  f"the back-end sent nothing after the FIN, or did not finish: {r}")
        waited = exited - r["eof_at"]
        sys.stdout.write(f"# the back-end sent {r['sent_after_eof']} bytes in 1 s after the gateway's FIN "
                         f"without a reset; exit {waited:.2f} s after that FIN\n")
        h.require(0.9 <= waited < 4, f"exit {waited:.2f} s after the FIN: expected once the back-end "
                  "ended, about 1 s later")


@T.case("--drain-timeout 1.5: a back-end that never ends after the gateway's FIN does not hold "
        "the drain past its deadline")
def _():
    s = setup.get()
    gw = s.start("--drain-timeout", "1.5")
    with gw:
        end_firehose_session(s, s.linger_port, s.firehose)
        t0 = time.monotonic()
        gw.signal(signal.SIGTERM)
        rc = gw.wait_exit(10)
        took = time.monotonic() - t0
        h.check_equal(rc, 0, "exit status")
        h.require(1.4 <= took < 4, f"exit {took:.2f} s after SIGTERM, expected about 1.5 s")


@T.case("--drain-timeout with a bad value: exit 1 with a message naming the option")
def _():
    s = setup.get()
    for bad in ("-1", "soon"):
        r = h.run_postern(["run", "--config", s.config, "--drain-timeout", bad], timeout=10)
        h.check_equal(r.returncode, 1, f"exit status for --drain-timeout {bad}")
        h.require("drain-timeout" in r.stderr, f"the error does not name the option: {r.stderr!r}")


T.run()
