#!/usr/bin/python3
# test_upgrade_path_tls.py: issue 10, the cost of a new wss:// connection --
# the first request head on a TLS connection is read (decrypted) by the
# gateway itself; a plain upgrade is answered there without SoupServer
# (pst-connection-upgrade.c), anything else goes to SoupServer with the
# bytes already read replayed first.  What a client sees must not change:
# - the fast path's 101 is byte for byte SoupServer's (Date aside: a query
#   string, which the fast path leaves to SoupServer, gets the other one),
#   and the debug line "upgrade answered without SoupServer" proves which
#   path answered;
# - a first frame sent in the same TLS record as the head is echoed;
# - a short head split in two TLS records at every boundary (both records
#   in one TCP write), and in three records a moment apart, still upgrades
#   and echoes;
# - the TLS 1.3 session ticket is held back after the handshake and goes in
#   the same write as the 101 (one sendmsg), and resumes;
# - refusals are SoupServer's as before: another Origin 403 (logged, also
#   when its head came in pieces), version 8 400, an unknown path 404, a
#   page request on the path 400; a head past 8 KiB still upgrades, one past
#   the 32 KiB head limit gets 431.
# Real gateway, real TLS (Python's ssl over memory BIOs, so the test cuts
# the records), 127.0.0.1 only.
# SPDX-License-Identifier: Apache-2.0
import os
import re
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=120)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
ALLOWED = "http://app.example"
FAST = "upgrade answered without SoupServer"


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        (self.port,) = h.free_ports(1)
        self.url = f"wss://localhost:{self.port}/echo"
        xsc = f"    <cross-site-constraint>\n      <allow-origin>{ALLOWED}</allow-origin>\n" \
              "    </cross-site-constraint>\n"
        self.config = h.write_config(self.dir, h.config_xml(
            [h.service_xml("echo", "echo", [self.url], extra=xsc)],
            keystore=self.keystore.relative_to(self.dir)))
        self.ca = self.keystore.trust_pem


setup = h.Fixture("CA, keystore, an echo service on wss:// with an Origin constraint", Setup)


def start():
    s = setup.get()
    # the debug lines say which path answered
    gw = h.Gateway(s.config, name="postern run (wss upgrade path)",
                   env={"G_MESSAGES_DEBUG": "postern"}).start()
    T.add_cleanup(gw.kill)
    gw.wait_listening(1, h.LISTEN_TIMEOUT)
    return gw


gateway = h.Fixture("postern run (debug lines on)", start)


def fast_count(gw):
    return sum(1 for line in list(gw.stderr) if FAST in line)


def wait_fast_count(gw, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fast_count(gw) >= want:
            break
        time.sleep(0.02)
    return fast_count(gw)


def head(path="/echo", origin=ALLOWED, version="13", extra=""):
    o = f"Origin: {origin}\r\n" if origin else ""
    return (f"GET {path} HTTP/1.1\r\nHost: localhost:{setup.get().port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Version: {version}\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\n{o}{extra}\r\n").encode()


class Client:
    """TLS over memory BIOs on a plain socket: each record() call is one TLS
    record; flush() sends what is queued in one write."""

    def __init__(self):
        s = setup.get()
        self.ctx = ctx = ssl.create_default_context(cafile=s.ca)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        self.sock = p.connected_socket(s.port)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.got = b""
        deadline = time.monotonic() + 20
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self._recv(deadline)
        self.flush()

    def _recv(self, deadline):
        h.require(time.monotonic() < deadline, "no answer within the time allowed")
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            self.inc.write_eof()
        else:
            self.inc.write(data)
        return data

    def record(self, data):
        self.tls.write(data)

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def read_until(self, marker, timeout=10.0):
        deadline = time.monotonic() + timeout
        while marker not in self.got:
            try:
                self.got += self.tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                raise h.Fail(f"closed before {marker!r}; got {self.got[:300]!r}")
            if not self._recv(deadline):
                raise h.Fail(f"closed before {marker!r}; got {self.got[:300]!r}")
        end = self.got.index(marker) + len(marker)
        taken, self.got = self.got[:end], self.got[end:]
        return taken

    def close(self):
        self.sock.close()


def answer_head(c):
    raw = c.read_until(b"\r\n\r\n")
    return raw


def without_date(raw):
    return re.sub(rb"\r\nDate: [^\r]*", b"", raw)


def echo(c, payload):
    c.record(p.mask_frame(0x1, payload))
    c.flush()
    got = c.read_until(payload)
    h.require(got.endswith(b"\x81" + bytes([len(payload)]) + payload), f"echo frame: {got!r}")


def upgrade_in_records(pieces, delay=0.0):
    c = Client()
    for piece in pieces:
        c.record(piece)
        if delay:
            c.flush()
            time.sleep(delay)
    c.flush()
    return c


@T.case("the fast path's 101 is SoupServer's byte for byte, Date aside (a query string goes to "
        "SoupServer), the debug line says which answered, and both sessions echo")
def _():
    gw = gateway.get()
    before = fast_count(gw)
    fast = upgrade_in_records([head()])
    raw_fast = answer_head(fast)
    h.require(wait_fast_count(gw, before + 1) == before + 1, "no fast-path debug line for the plain upgrade")
    echo(fast, b"fast path")
    fast.close()
    soup = upgrade_in_records([head(path="/echo?x=1")])
    raw_soup = answer_head(soup)
    echo(soup, b"soupserver")
    soup.close()
    time.sleep(0.3)
    h.check_equal(fast_count(gw), before + 1, "fast-path lines after the query-string upgrade (SoupServer's)")
    h.require(raw_fast.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), f"fast answer: {raw_fast!r}")
    h.require(b"\r\nDate: " in raw_fast and b"\r\nDate: " in raw_soup, "a Date header in both")
    h.require(f"Sec-WebSocket-Accept: {ACCEPT}\r\n".encode() in raw_fast, f"accept key: {raw_fast!r}")
    h.check_equal(without_date(raw_fast), without_date(raw_soup), "101 bytes, fast path vs SoupServer")
    print(f"# 101: {without_date(raw_fast)!r}", flush=True)


@T.case("a first frame sent in the same TLS record as the head is echoed (fast path)")
def _():
    gw = gateway.get()
    before = fast_count(gw)
    c = upgrade_in_records([head() + p.mask_frame(0x1, b"early bird")])
    raw = answer_head(c)
    h.require(raw.startswith(b"HTTP/1.1 101"), f"answer: {raw!r}")
    got = c.read_until(b"early bird")
    h.require(got.endswith(b"\x81\x0aearly bird"), f"echo frame: {got!r}")
    echo(c, b"and after")
    c.close()
    h.require(wait_fast_count(gw, before + 1) == before + 1, "no fast-path debug line")


@T.case("a short head split in two TLS records at every boundary (one TCP write) upgrades and echoes, "
        "on the fast path every time")
def _():
    gw = gateway.get()
    text = head()
    before = fast_count(gw)
    for i in range(1, len(text)):
        c = upgrade_in_records([text[:i], text[i:]])
        raw = answer_head(c)
        h.require(raw.startswith(b"HTTP/1.1 101"), f"split at {i}: {raw!r}")
        echo(c, b"split %d" % i)
        c.close()
    n = len(text) - 1
    h.check_equal(wait_fast_count(gw, before + n), before + n, f"fast-path lines for {n} split heads")
    print(f"# {n} boundaries of a {len(text)}-byte head", flush=True)


@T.case("a head in three TLS records 0.2 s apart, with a frame in the last, upgrades and echoes "
        "(waited for within the deadline)")
def _():
    gw = gateway.get()
    text = head()
    before = fast_count(gw)
    c = upgrade_in_records([text[:7], text[7:60], text[60:] + p.mask_frame(0x1, b"late")], delay=0.2)
    raw = answer_head(c)
    h.require(raw.startswith(b"HTTP/1.1 101"), f"answer: {raw!r}")
    got = c.read_until(b"late")
    h.require(got.endswith(b"\x81\x04late"), f"echo frame: {got!r}")
    c.close()
    h.require(wait_fast_count(gw, before + 1) == before + 1, "no fast-path debug line")


@T.case("requests left to SoupServer get its answers over TLS: another Origin 403 (logged; also with "
        "its head in pieces), version 8 400, an unknown path 404, a page request on the path 400")
def _():
    gw = gateway.get()
    before = fast_count(gw)
    evil = head(origin="http://evil.example")
    cases = [
        ([evil], "HTTP/1.1 403"),
        ([evil[:20], evil[20:90], evil[90:]], "HTTP/1.1 403"),
        ([head(version="8")], "HTTP/1.1 400"),
        ([head(path="/nothing-here")], "HTTP/1.1 404"),
        ([b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n"], "HTTP/1.1 400"),
    ]
    for pieces, want in cases:
        c = upgrade_in_records(pieces, delay=0.05 if len(pieces) > 1 else 0.0)
        raw = answer_head(c)
        h.require(raw.decode("latin-1").startswith(want), f"{pieces[0][:40]!r}...: {raw[:60]!r}, expected {want}")
        c.close()
    h.require(gw.wait_stderr(lambda line: "origin \"http://evil.example\" is not allowed" in line, 5),
              "no log line for the refused Origin")
    time.sleep(0.3)
    h.check_equal(fast_count(gw), before, "fast-path lines for requests SoupServer answered")


def tls_records(data):
    """The TLS records in data (whole ones), as (type, length)."""
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        if i + 5 + n > len(data):
            break
        out.append((data[i], n))
        i += 5 + n
    return out, i == len(data)


@T.case("the TLS 1.3 session ticket rides with the 101: nothing comes between the handshake and the "
        "upgrade, then one read brings two records (ticket and 101) and the session resumes")
def _():
    gateway.get()
    c = Client()
    c.sock.settimeout(0.5)
    try:
        early = c.sock.recv(65536)
    except socket.timeout:
        early = b""
    h.check_equal(early, b"", "bytes from the gateway before the upgrade head")
    c.record(head())
    c.flush()
    c.sock.settimeout(10)
    data = b""
    deadline = time.monotonic() + 10
    while not tls_records(data)[1] or not data:
        h.require(time.monotonic() < deadline, f"no whole records within 10 s: {data[:40]!r}")
        chunk = c.sock.recv(65536)
        h.require(chunk, "closed before the answer")
        data += chunk
    records, _ = tls_records(data)
    h.check_equal(len(records), 2, f"records in the first read after the head ({records})")
    c.inc.write(data)
    raw = answer_head(c)
    h.require(raw.startswith(b"HTTP/1.1 101"), f"answer: {raw!r}")
    session = c.tls.session
    h.require(session is not None and session.has_ticket, "no session ticket received")
    echo(c, b"ticket")
    c.close()
    # resumes with it
    s = setup.get()
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as raw_sock:
        with c.ctx.wrap_socket(raw_sock, server_hostname="localhost", session=session) as t:
            h.require(t.session_reused, "the ticket from the 101's read did not resume")


@T.case("heads longer than the gateway reads itself (8 KiB) go to SoupServer with what was read: a 12 KiB "
        "upgrade head still upgrades, a 40 KiB one gets the head limit's 431 (the bytes read are counted)")
def _():
    gw = gateway.get()
    before = fast_count(gw)
    for size, want in ((12 * 1024, b"HTTP/1.1 101"), (40 * 1024, b"HTTP/1.1 431")):
        text = head(extra=f"X-Filler: {'f' * size}\r\n")
        c = Client()
        for i in range(0, len(text), 4096):   # records of 4 KiB
            c.record(text[i:i + 4096])
        c.flush()
        raw = answer_head(c)
        h.require(raw.startswith(want), f"{len(text)}-byte head: {raw[:80]!r}, expected {want!r}")
        if want.endswith(b"101"):
            echo(c, b"long head")
        c.close()
    time.sleep(0.3)
    h.check_equal(fast_count(gw), before, "fast-path lines for the long heads")


@T.case("a WebSocket client (python3-websockets) upgrades over wss:// and its open line names the TLS "
        "version (tls= field)")
def _():
    gw = gateway.get()
    ws = h.import_websockets()
    s = setup.get()
    ctx = h.client_ssl_context(cafile=s.ca)

    async def run():
        async with ws.client.connect(s.url, ssl=ctx, origin=ALLOWED, open_timeout=10) as conn:
            await conn.send("through websockets")
            return await conn.recv()

    h.check_equal(h.arun(run(), 20), "through websockets", "echo")
    h.require(gw.wait_stderr(lambda line: "open echo" in line and " tls=TLSv1.3" in line, 5),
              "no open line with tls=TLSv1.3")


if __name__ == "__main__":
    T.run()
