#!/usr/bin/python3
# test_event_loop.py: issue 10 item 3 -- the gateway's event loop costs
# O(ready sockets): 2,000 idle ws:// -> tcp:// connections held at once add
# no GSource to the gateway's main context (postern_event_sources on the
# status service's /metrics stays where it was), while its epoll set
# (postern_event_watches) and timer heap (postern_event_timers) hold them;
# all still echo afterwards, and once closed the figures come back.  The
# same for 300 wss:// -> ssl:// ones (GTlsConnection on both hops).
# Functional, not timed: every wait is bounded, no rate is asserted.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import base64
import os
import re
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402
import heldlib  # noqa: E402

T = h.Tap(case_timeout=200)

SANITIZED = os.environ.get("POSTERN_SANITIZED") == "1"
COUNT = int(os.environ.get("POSTERN_EVLOOP_IDLE", "500" if SANITIZED else "2000"))
COUNT_TLS = int(os.environ.get("POSTERN_EVLOOP_IDLE_TLS", "100" if SANITIZED else "300"))
STEP_TIMEOUT = heldlib.STEP_TIMEOUT   # one phase (open all, echo all, close all)
# The status request itself, a warm-up straggler, GIO's own: what may
# come and go between two scrapes without any connection held.
SOURCES_SLACK = 8


def raise_nofile():
    heldlib.raise_nofile(2 * COUNT + 200, COUNT)



Echo = heldlib.Echo


class Setup:
    def __init__(self):
        raise_nofile()
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.backend = {False: Echo(), True: Echo(p.server_ssl_context(self.pki.server()))}
        for b in self.backend.values():
            T.add_cleanup(b.close)
        ws_port, wss_port, status_port = h.free_ports(3)
        self.port = {False: ws_port, True: wss_port}
        self.url = {False: f"ws://localhost:{ws_port}/held", True: f"wss://localhost:{wss_port}/held"}
        self.ctx = {False: None, True: h.client_ssl_context(cafile=self.pki.ca.cert)}
        self.status = f"http://127.0.0.1:{status_port}/"
        cap = {"tcp.maximum.connections.per.address": str(COUNT + 100)}
        ks = (os.path.relpath(self.keystore.store, self.dir),
              os.path.relpath(self.keystore.password_file, self.dir))
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("held", "proxy", [self.url[False]], [f"tcp://localhost:{self.backend[False].port}"],
                          accept_options=cap),
            h.service_xml("held-tls", "proxy", [self.url[True]], [f"ssl://localhost:{self.backend[True].port}"],
                          accept_options=cap),
            h.service_xml("status", "status", [self.status], accept_options=cap),
        ], ks, os.path.relpath(self.truststore, self.dir)))
        self.gw = h.start_gateway(self.config, list(self.url.values()) + [self.status],
                                  name="postern run (event loop)",
                                  # one process: /metrics speaks for the worker that answers
                                  extra_args=["--workers", "1"])


setup = h.Fixture("PKI, echo back-ends (tcp, TLS), gateway with ws -> tcp and wss -> ssl proxies "
                  "and a status service", Setup)

GAUGE = re.compile(r"^(postern_event_[a-z_]+) ([0-9.e+]+)$", re.M)


def event_figures():
    """The postern_event_* samples of one GET /metrics (a raw HTTP/1.0
    request: no client library between us and the figures)."""
    port = int(setup.get().status.rsplit(":", 1)[1].rstrip("/"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        body = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
    head, _, text = body.decode("utf-8", "replace").partition("\r\n\r\n")
    h.require(head.startswith("HTTP/1.") and " 200 " in head.split("\r\n")[0],
              f"GET /metrics: {head[:80]!r}")
    got = {m.group(1): float(m.group(2)) for m in GAUGE.finditer(text)}
    for name in ("postern_event_sources", "postern_event_watches", "postern_event_timers"):
        h.require(name in got, f"/metrics has no {name}; it has {sorted(got)}")
    return got


Conn = heldlib.Conn


phase = heldlib.phase


def wait_figure(name, want, what, timeout=30):
    """Until figure `name` is at most `want`; returns the last figures."""
    deadline = time.monotonic() + timeout
    got = event_figures()
    while got[name] > want and time.monotonic() < deadline:
        time.sleep(0.3)
        got = event_figures()
    h.require(got[name] <= want, f"{what}: {name} is {got[name]:.0f}, at most {want:.0f} expected "
              f"(waited {timeout} s)")
    return got


def hold_idle(secure, count):
    s = setup.get()
    backend, port, ctx = s.backend[secure], s.port[secure], s.ctx[secure]

    async def run():
        warm = [Conn(-i - 1) for i in range(8)]
        await phase("8 warm-up connections", (c.open(port, ctx) for c in warm))
        await phase("8 warm-up echoes", (c.echo(b"warm") for c in warm))
        await phase("8 warm-up closes", (c.close() for c in warm))
        await asyncio.sleep(1.0)
        before = event_figures()
        h._diag(f"before: {before}")

        conns = [Conn(i) for i in range(count)]

        async def open_and_echo(c):
            await c.open(port, ctx)
            await c.echo(struct.pack(">I", c.i) + b"first")
        await phase(f"{count} connections opened, each proven by an echo", (open_and_echo(c) for c in conns))
        h.check_equal(backend.live, count, "connections the back-end holds")
        await asyncio.sleep(1.0)
        held = event_figures()
        h._diag(f"with {count} held: {held}")
        h.require(held["postern_event_sources"] <= before["postern_event_sources"] + SOURCES_SLACK,
                  f"GSources on the gateway's main context: {held['postern_event_sources']:.0f} with "
                  f"{count} idle connections, {before['postern_event_sources']:.0f} before: the loop "
                  "walks something per connection")
        # each connection: its client socket and its back-end socket wait
        # for input in the epoll set; its WebSocket inactivity timer is on the heap.
        # (Not counted from `before`: a lingering close of an earlier case may
        # hold a watch then, for up to its idle time, and be gone now.)
        h.require(held["postern_event_watches"] >= 2 * count,
                  f"postern_event_watches {held['postern_event_watches']:.0f}, expected at least "
                  f"2 × {count}: the connections do not wait on the poller")
        h.require(held["postern_event_timers"] >= count,
                  f"postern_event_timers {held['postern_event_timers']:.0f}, expected at least {count}")
        await phase(f"{count} echoes again, all held", (c.echo(struct.pack(">I", c.i) + b"again")
                                                        for c in conns))
        h.check_equal(backend.live, count, "connections the back-end holds after the second echoes")
        await phase(f"{count} closes", (c.close() for c in conns))
        return before

    before = h.arun(run(), 4 * STEP_TIMEOUT + 30)
    after = wait_figure("postern_event_watches", before["postern_event_watches"],
                        f"after {count} connections closed")
    after = wait_figure("postern_event_timers", before["postern_event_timers"],
                        f"after {count} connections closed")
    h._diag(f"after: {after}")
    h.require(after["postern_event_sources"] <= before["postern_event_sources"] + SOURCES_SLACK,
              f"GSources after the connections closed: {after['postern_event_sources']:.0f}, "
              f"before: {before['postern_event_sources']:.0f}")
    h.require(s.gw.running(), "the gateway exited")


@T.case(f"{COUNT} idle ws:// -> tcp:// connections add no GSource to the gateway's main context "
        "(postern_event_sources), sit in its epoll set and timer heap instead, all echo while held, "
        "and the figures come back once they close")
def _():
    hold_idle(False, COUNT)


@T.case(f"{COUNT_TLS} idle wss:// -> ssl:// connections (TLS on both hops) add no GSource either, "
        "all echo while held, and the figures come back once they close")
def _():
    hold_idle(True, COUNT_TLS)


def pipelined(secure):
    """The upgrade request and a first frame in one write, nothing after:
    the frame sits in libsoup's buffer (and, over TLS, GnuTLS's), not in
    the socket; the pump must read it without waiting for the socket."""
    s = setup.get()
    port, ctx = s.port[secure], s.ctx[secure]
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="localhost") if secure else raw
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        payload = b"sent with the upgrade"
        sock.sendall((f"GET /held HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode() + p.mask_frame(0x2, payload))
        parser = p.FrameParser()
        buf, got = b"", b""
        deadline = time.monotonic() + 10
        while b"\r\n\r\n" not in buf:
            h.require(time.monotonic() < deadline, f"no upgrade answer within 10 s: {buf[:80]!r}")
            chunk = sock.recv(65536)
            h.require(chunk, f"the gateway closed the connection: {buf[:80]!r}")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        h.require(head.startswith(b"HTTP/1.1 101"), f"upgrade refused: {head[:80]!r}")
        frames = parser.feed(rest)
        while len(got) < len(payload):
            for fin, op, data in frames:
                got += data
            if len(got) >= len(payload):
                break
            h.require(time.monotonic() < deadline, f"the frame sent with the upgrade was not echoed "
                      f"within 10 s (got {got!r}): bytes above the socket were left unread")
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            h.require(chunk, "the gateway closed the connection before echoing")
            frames = parser.feed(chunk)
        h.check_equal(got, payload, "echo of the frame sent with the upgrade")
    finally:
        sock.close()


@T.case("a frame sent in the same write as the upgrade request is echoed, ws:// and wss:// "
        "(bytes buffered above the socket are read before the socket is waited on)")
def _():
    pipelined(False)
    pipelined(True)


if __name__ == "__main__":
    T.run()
