#!/usr/bin/python3
# test_proxy.py: issue 4 items 1, 2 and 10 — the proxy service end to end:
# wss → ssl (64 MiB each way, SHA-256 at both ends), wss → tcp, an ssl → ssl
# tunnel, ws → ws with message boundaries and types; back-ends that are
# untrusted, expired or for another host are refused with 1011 and a log line
# that says why and how to fix it.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import select
import socket
import ssl
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h, MiB, KiB  # noqa: E402

T = h.Tap(case_timeout=120)

BIG = 64 * MiB
# message sizes the client sends, cycled (1 B … 1 MiB, odd sizes included)
SIZES = [1 * MiB, 7, 65536, 300_001, 16 * KiB, 125, 126, 127, 65535, 65537, 999_999]


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.other = h.Pki(os.path.join(self.dir, "other-pki"), ca_name="Postern E2E Unknown CA")
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        # back-ends
        good = self.pki.server("localhost")
        self.tls_echo = p.Server("tls-echo", p.echo_handler, p.server_ssl_context(good))
        T.add_cleanup(self.tls_echo.close)
        self.tcp_echo = p.Server("tcp-echo", p.echo_handler)
        T.add_cleanup(self.tcp_echo.close)
        self.ws_back = p.WsBackend()
        T.add_cleanup(self.ws_back.close)
        self.wss_back = p.WsBackend(ssl_ctx=p.server_ssl_context(good))
        T.add_cleanup(self.wss_back.close)
        self.untrusted = p.Server("bad-issuer", p.echo_handler,
                                  p.server_ssl_context(self.other.server("localhost")))
        T.add_cleanup(self.untrusted.close)
        self.expired = p.Server("old-cert", p.echo_handler,
                                p.server_ssl_context(self.pki.expired("localhost")))
        T.add_cleanup(self.expired.close)
        self.wronghost = p.Server("other-host", p.echo_handler,
                                  p.server_ssl_context(self.pki.wrong_host("wrong.example.org")))
        T.add_cleanup(self.wronghost.close)
        # gateway
        self.wss_port, self.ssl_port, self.ws_port = h.free_ports(3)
        W = f"wss://localhost:{self.wss_port}"
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.urls = {
            "wss-ssl": f"{W}/ssl",
            "wss-tcp": f"{W}/tcp",
            "ssl-ssl": f"ssl://localhost:{self.ssl_port}",
            "ws-ws": f"ws://localhost:{self.ws_port}/ws",
            "wss-wss": f"{W}/wss",
            "bad-issuer": f"{W}/bad-issuer",
            "old-cert": f"{W}/old-cert",
            "other-host": f"{W}/other-host",
        }
        self.connects = {
            "wss-ssl": f"ssl://localhost:{self.tls_echo.port}",
            "wss-tcp": f"tcp://127.0.0.1:{self.tcp_echo.port}",
            "ssl-ssl": f"ssl://localhost:{self.tls_echo.port}",
            "ws-ws": f"ws://127.0.0.1:{self.ws_back.port}/back",
            "wss-wss": f"wss://localhost:{self.wss_back.port}/secure-back",
            "bad-issuer": f"ssl://localhost:{self.untrusted.port}",
            "old-cert": f"ssl://localhost:{self.expired.port}",
            "other-host": f"ssl://localhost:{self.wronghost.port}",
        }
        services = [h.service_xml(name, "proxy", [self.urls[name]], [self.connects[name]])
                    for name in self.urls]
        text = p.config_xml(services,
                            keystore=self.keystore.relative_to(self.dir),
                            truststore=os.path.relpath(self.truststore, self.dir))
        self.config = h.write_config(self.dir, text)

    def ctx(self):
        return self.keystore.client_context()


setup = h.Fixture("PKI, back-ends and proxy config", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, list(s.urls.values()), name="postern run (proxy)")


gateway = h.Fixture("postern run on the proxy config", start)


@T.case("postern run prints one 'listening on' line per proxy accept URL")
def _():
    s = setup.get()
    gw = gateway.get()
    # a path-less tcp/ssl URL may be printed with its root path "/"
    norm = lambda u: u + "/" if u.count("/") == 2 else u  # noqa: E731
    h.check_equal(sorted(map(norm, gw.listening_urls())), sorted(map(norm, s.urls.values())),
                  "URLs printed after 'listening on'")


# --------------------------------------------------------------------------
# bulk transfers through the gateway


async def ws_bulk(uri, ctx, total, pattern, sock):
    """Send `total` bytes as binary messages while reading everything that
    comes back; returns (sent sha, received sha, received bytes, message
    types seen, close code received)."""
    sent = hashlib.sha256()
    got = hashlib.sha256()
    received = 0
    types = set()
    async with h.ws_connect(uri, ctx, sock=sock,
                            server_hostname="localhost" if ctx else None) as c:
        async def reader():
            nonlocal received
            while received < total:
                m = await h.recv_within(c, 30)
                types.add(type(m).__name__)
                got.update(m if isinstance(m, bytes) else m.encode())
                received += len(m)

        rtask = asyncio.ensure_future(reader())
        try:
            for piece in pattern.pieces(total, SIZES):
                await c.send(piece)
                sent.update(piece)
                if rtask.done():
                    break
            await asyncio.wait_for(rtask, 120)
        finally:
            rtask.cancel()
        await h.close_cleanly(c)
    return sent.hexdigest(), got.hexdigest(), received, types


def bulk_case(name, backend_attr, total):
    s = setup.get()
    gw = gateway.get()
    backend = getattr(s, backend_attr)
    before = len(backend.records)
    sock = p.connected_socket(s.wss_port)
    local = sock.getsockname()
    pattern = p.Pattern(f"{name}-{total}")
    t0 = time.monotonic()
    sent, got, received, types = h.arun(
        ws_bulk(s.urls[name], s.ctx(), total, pattern, sock), 200)
    took = time.monotonic() - t0
    h.check_equal(received, total, "bytes echoed back to the WebSocket client")
    h.check_equal(types, {"bytes"}, "types of the messages from a byte back-end")
    h.check_equal(got, sent, "SHA-256 of what the client received vs what it sent")
    recs = backend.wait_records(before + 1, 15)
    rec = recs[before]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], total, "bytes the back-end received")
    h.check_equal(rec["sha256"], sent, "SHA-256 of what the back-end received vs what "
                                       "the client sent")
    sys.stdout.write(f"# {total // MiB} MiB each way in {took:.1f} s\n")
    return local


@T.case("wss → ssl: 64 MiB each way to a TLS echo back-end trusted through the "
        "truststore, SHA-256 equal at client and back-end", timeout=200)
def _():
    local = bulk_case("wss-ssl", "tls_echo", BIG)
    bulk_local["wss-ssl"] = local


bulk_local = {}


@T.case("connection log: the wss → ssl session's close line names the service, "
        "client, TLS, back-end, bytes, duration and code 1000")
def _():
    s = setup.get()
    gw = gateway.get()
    h.require("wss-ssl" in bulk_local, "the wss → ssl transfer did not run to its end")
    host, port = bulk_local["wss-ssl"][:2]
    line = p.wait_log(gw, lambda l: "close wss-ssl " in l and f":{port}" in l, 10,
                      f"'close wss-ssl' for client port {port}")
    for part in ("tls=", f"backend={s.connects['wss-ssl']}", "duration=", "code=1000"):
        h.require(part in line, f"close line lacks {part!r}: {line}")
    import re
    m_in = re.search(r"\bin=(\d+)", line)
    m_out = re.search(r"\bout=(\d+)", line)
    h.require(m_in and m_out, f"close line lacks in=/out= byte counts: {line}")
    for m, what in ((m_in, "in"), (m_out, "out")):
        h.require(int(m.group(1)) >= BIG,
                  f"close line's {what}= is {m.group(1)}, less than the {BIG} bytes moved: {line}")


@T.case("wss → tcp: 16 MiB each way to a TCP echo back-end, SHA-256 equal at "
        "client and back-end; back-end bytes arrive as binary messages", timeout=120)
def _():
    bulk_case("wss-tcp", "tcp_echo", 16 * MiB)


@T.case("ssl → ssl tunnel: a raw TLS client (verifying the gateway) moves 16 MiB "
        "each way through the gateway to the TLS back-end, SHA-256 equal", timeout=120)
def _():
    s = setup.get()
    gateway.get()
    total = 16 * MiB
    pattern = p.Pattern("ssl-tunnel")
    before = len(s.tls_echo.records)
    raw = p.connected_socket(s.ssl_port, timeout=30)
    conn = s.ctx().wrap_socket(raw, server_hostname="localhost")
    sent = hashlib.sha256()
    got = hashlib.sha256()
    received = 0
    # One thread: an OpenSSL connection must not be read and written from
    # two threads at once (that made this case flaky), so the writes and
    # reads interleave on a non-blocking socket.
    pieces = pattern.pieces(total, SIZES)
    pending = b""
    written = 0
    conn.setblocking(False)
    deadline = time.monotonic() + 90
    try:
        while received < total and time.monotonic() < deadline:
            if not pending and written < total:
                pending = next(pieces)
                sent.update(pending)
            want_write = bool(pending)
            r, w, _ = select.select([conn], [conn] if want_write else [], [], 1.0)
            if w or (want_write and conn.pending()):
                try:
                    n = conn.send(pending)
                    pending = pending[n:]
                    written += n
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
            if r or conn.pending():
                try:
                    data = conn.recv(256 * KiB)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                if not data:
                    break
                got.update(data)
                received += len(data)
        h.check_equal(written, total, "bytes the TLS client wrote into the ssl tunnel")
        h.check_equal(received, total, "bytes echoed back through the ssl tunnel")
        h.check_equal(got.hexdigest(), sent.hexdigest(),
                      "SHA-256 of what the TLS client received vs sent")
    finally:
        conn.setblocking(True)
        conn.settimeout(5)
        try:
            conn.unwrap()   # close_notify, as a well-behaved TLS client ends
        except (OSError, ValueError):
            pass
        try:
            conn.close()
        except OSError:
            pass
    rec = s.tls_echo.wait_records(before + 1, 15)[before]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], total, "bytes the back-end received through the tunnel")
    h.check_equal(rec["sha256"], sent.hexdigest(), "SHA-256 at the back-end vs the client")


WS_MESSAGES = [
    "hello",
    b"\x00\x01\x02binary",
    "",
    b"",
    "héllo wörld ✓ — ünïcödé 🚀",
    b"x",
    "t" * 125,
    b"\xff" * 126,
    "u" * 65535,
    b"\x80" * 65536,
    "ümlaut-" * 20000,
    bytes(range(256)) * 4096,          # 1 MiB
    "last",
]


def ws_to_ws(name, backend_attr, back_path, ctx):
    s = setup.get()
    gateway.get()
    backend = getattr(s, backend_attr)
    before = len(backend.messages)

    async def go():
        got = []
        async with h.ws_connect(s.urls[name], ctx) as c:
            for m in WS_MESSAGES:
                await c.send(m)
            for _ in WS_MESSAGES:
                got.append(await h.recv_within(c, 15))
            await h.close_cleanly(c)
        return got

    got = h.arun(go(), 60)
    describe = lambda ms: [(type(m).__name__, len(m)) for m in ms]  # noqa: E731
    h.check_equal(describe(got), describe(WS_MESSAGES),
                  "(type, length) of the messages echoed back to the client")
    h.require(got == WS_MESSAGES, "messages echoed back differ in content")
    deadline = time.monotonic() + 10
    while len(backend.messages) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    h.require(len(backend.messages) > before, "the back-end saw no WebSocket connection")
    at_back = backend.messages[before]
    h.check_equal(at_back["path"], back_path, "path the gateway requested from the back-end")
    h.check_equal(describe(at_back["messages"]), describe(WS_MESSAGES),
                  "(type, length) of the messages the back-end received")
    h.require(at_back["messages"] == WS_MESSAGES,
              "messages the back-end received differ in content")


@T.case("ws → ws: a python3-websockets back-end receives every message with its "
        "boundaries and text/binary type; the client gets the same sequence back")
def _():
    ws_to_ws("ws-ws", "ws_back", "/back", None)


@T.case("wss → wss: the same through a TLS python3-websockets back-end verified "
        "against the truststore")
def _():
    ws_to_ws("wss-wss", "wss_back", "/secure-back", setup.get().ctx())


# --------------------------------------------------------------------------
# refused back-ends


def refused(name):
    """Connect a wss client to the service; the gateway must close it with
    1011; return (client port, close reason) and the gateway's log line."""
    s = setup.get()
    gw = gateway.get()
    ws = h.import_websockets()
    sock = p.connected_socket(s.wss_port)
    port = sock.getsockname()[1]

    async def go():
        async with h.ws_connect(s.urls[name], s.ctx(), sock=sock,
                                server_hostname="localhost") as c:
            try:
                m = await asyncio.wait_for(c.recv(), 15)
                raise h.Fail(f"got a message from a refused back-end: {h.short(m)}")
            except ws.exceptions.ConnectionClosed:
                pass
            except asyncio.TimeoutError:
                raise h.Fail("the gateway did not close the connection within 15 s") from None
            return c.close_rcvd

    try:
        rcvd = h.arun(go(), 40)
    except ws.exceptions.InvalidStatusCode as e:
        raise h.Fail(f"the upgrade was refused with HTTP {e.status_code}; expected a "
                     "101 and then a WebSocket close 1011") from None
    h.require(rcvd is not None, "no close frame from the gateway")
    h.check_equal(rcvd.code, 1011, "close code the client received")
    line = p.wait_log(gw, lambda l: f"back-end {s.connects[name]}" in l, 10,
                      f"naming back-end {s.connects[name]}")
    # what the gateway says after naming the back-end (the service name and
    # the URL must not be what makes a phrase match)
    after = line.split(f"back-end {s.connects[name]}", 1)[1]
    after = after.split(":", 1)[1] if ":" in after[:3] else after
    return rcvd, line, after


def require_fix(line, after):
    h.require("—" in after and after.split("—", 1)[1].strip(),
              f"log line gives no fix after the reason (expected 'reason — what to do'): {line}")


@T.case("untrusted back-end (issuer not in the truststore): client gets 1011; the "
        "log says 'not trusted', names the issuer and the 'postern cert fetch' fix")
def _():
    s = setup.get()
    rcvd, line, after = refused("bad-issuer")
    authority = f"localhost:{s.untrusted.port}"
    for phrase in ("not trusted", "Postern E2E Unknown CA", "postern cert fetch"):
        h.require(phrase in after, f"log line lacks {phrase!r}: {line}")
    fix = after[after.index("postern cert fetch"):]
    h.require(authority in fix, f"the fix does not name the back-end {authority}: {line}")
    h.require("truststore.pem" in fix, f"the fix does not name the truststore file: {line}")


@T.case("expired back-end certificate: client gets 1011; the log says 'expired' "
        "and what to do about it")
def _():
    rcvd, line, after = refused("old-cert")
    h.require("expired" in after, f"log line lacks 'expired': {line}")
    h.require("not trusted" not in after, f"expired certificate reported as untrusted: {line}")
    require_fix(line, after)


@T.case("back-end certificate for another host: client gets 1011; the log says "
        "'host-name mismatch', names both host names and the fix")
def _():
    rcvd, line, after = refused("other-host")
    for phrase in ("host-name mismatch", "wrong.example.org", "localhost"):
        h.require(phrase in after, f"log line lacks {phrase!r}: {line}")
    h.require("not trusted" not in after, f"host-name mismatch reported as untrusted: {line}")
    require_fix(line, after)


@T.case("after the refusals the gateway still proxies: wss → ssl echo of one message")
def _():
    s = setup.get()
    gateway.get()

    async def go():
        async with h.ws_connect(s.urls["wss-ssl"], s.ctx()) as c:
            await c.send(b"still fine")
            m = await h.recv_within(c, 10)
            h.check_equal(m, b"still fine", "echo after the refusals")
            await h.close_cleanly(c)

    h.arun(go(), 30)


@T.case("postern stops cleanly (exit 0) on SIGTERM after the proxy cases")
def _():
    gw = gateway.get()
    try:
        gw.stop()
    finally:
        p.dump_log(gw)


if __name__ == "__main__":
    T.run()
