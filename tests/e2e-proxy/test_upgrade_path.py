#!/usr/bin/python3
# test_upgrade_path.py: issue 10, the cost of a new connection -- a plain
# WebSocket upgrade whose head is already there, complete, is answered by
# the gateway itself (pst-connection-upgrade.c); everything else goes to
# SoupServer as before.  Both answers must be the same to a client:
# - the same head, sent whole (fast path) or in two pieces a moment apart
#   (SoupServer), gets the same 101 (status line and headers, Date aside),
#   and both sessions echo; a frame sent in the same write as the head is
#   not lost;
# - a client accepted before its first byte (the whole head comes 0.2 s
#   after the connect, with a frame behind it) is waited for, upgraded and
#   echoed, and one that leaves without a byte costs the others nothing;
# - an allowed Origin upgrades, another gets SoupServer's 403 and its log
#   line; a query string still upgrades; a wrong version gets 400, an
#   unknown path 404, a page request on the WebSocket path 400.
# Real gateway, raw sockets on 127.0.0.1.
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=60)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
ALLOWED = "http://app.example"


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        (self.port,) = h.free_ports(1)
        self.url = f"ws://127.0.0.1:{self.port}/echo"
        xsc = f"    <cross-site-constraint>\n      <allow-origin>{ALLOWED}</allow-origin>\n" \
              "    </cross-site-constraint>\n"
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("echo", "echo", [self.url], extra=xsc),
        ]))


setup = h.Fixture("echo service with an Origin constraint", Setup)
gateway = h.Fixture("postern run", lambda: h.start_gateway(setup.get().config, [setup.get().url],
                                                          name="postern run (upgrade path)"))


def head(path="/echo", origin=ALLOWED, version="13", extra=""):
    o = f"Origin: {origin}\r\n" if origin else ""
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{setup.get().port}\r\nUpgrade: websocket\r\n"
            f"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: {version}\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\n{o}{extra}\r\n").encode()


def frame(payload):
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + body


def read_head(sock):
    data = b""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in data:
        h.require(time.monotonic() < deadline, f"no complete answer head within 10 s: {data!r}")
        chunk = sock.recv(4096)
        h.require(chunk, f"closed before the answer head ended: {data!r}")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    lines = data[:end].decode("latin-1").split("\r\n")[:-2]
    return lines[0], {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}, data[end:]


def read_echo(sock, rest, payload):
    data = rest
    deadline = time.monotonic() + 10
    while len(data) < 2 + len(payload):
        h.require(time.monotonic() < deadline, "no echo within 10 s")
        chunk = sock.recv(4096)
        h.require(chunk, "closed before the echo")
        data += chunk
    h.check_equal(data[:2 + len(payload)], b"\x81" + bytes([len(payload)]) + payload, "echoed frame")


def upgrade(pieces, payload=b"hello"):
    sock = socket.create_connection(("127.0.0.1", setup.get().port), timeout=10)
    for i, piece in enumerate(pieces):
        if i > 0:
            time.sleep(0.2)
        sock.sendall(piece)
    status, headers, rest = read_head(sock)
    return sock, status, headers, rest


@T.case("the same upgrade head sent whole (answered by the gateway) and in two pieces (answered by "
        "SoupServer) gets the same 101, Date aside, and both sessions echo")
def _():
    gateway.get()
    text = head()
    answers = []
    for pieces in ([text], [text[:30], text[30:]]):
        sock, status, headers, rest = upgrade(pieces)
        h.check_equal(status, "HTTP/1.1 101 Switching Protocols", "status line")
        h.check_equal(headers.get("sec-websocket-accept"), ACCEPT, "Sec-WebSocket-Accept")
        h.require("date" in headers, f"no Date header: {headers}")
        sock.sendall(frame(b"hello"))
        read_echo(sock, rest, b"hello")
        sock.close()
        answers.append({k: v for k, v in headers.items() if k != "date"})
    h.check_equal(answers[0], answers[1], "101 headers, whole head vs head in two pieces")
    print(f"# 101 headers: {answers[0]}", flush=True)


@T.case("a frame sent in the same write as the upgrade head is echoed (the head alone is taken "
        "from the socket)")
def _():
    gateway.get()
    sock, status, headers, rest = upgrade([head() + frame(b"early")])
    h.check_equal(status, "HTTP/1.1 101 Switching Protocols", "status line")
    read_echo(sock, rest, b"early")
    sock.close()


@T.case("a head that comes 0.2 s after the connect (the client was accepted before its first byte) "
        "upgrades and echoes; clients that leave without a byte do not disturb it")
def _():
    gateway.get()
    quiet = [socket.create_connection(("127.0.0.1", setup.get().port), timeout=10) for _ in range(3)]
    sock = socket.create_connection(("127.0.0.1", setup.get().port), timeout=10)
    time.sleep(0.2)
    for q in quiet:
        q.close()
    sock.sendall(head() + frame(b"late"))
    status, headers, rest = read_head(sock)
    h.check_equal(status, "HTTP/1.1 101 Switching Protocols", "status line")
    h.check_equal(headers.get("sec-websocket-accept"), ACCEPT, "Sec-WebSocket-Accept")
    read_echo(sock, rest, b"late")
    sock.close()


@T.case("requests the gateway leaves to SoupServer get its answers: another Origin 403 (logged), "
        "a query string 101, version 8 400, an unknown path 404, a page request on the path 400")
def _():
    gw = gateway.get()
    cases = [
        (head(origin="http://evil.example"), "HTTP/1.1 403"),
        (head(path="/echo?x=1"), "HTTP/1.1 101"),
        (head(version="8"), "HTTP/1.1 400"),
        (head(path="/nothing-here"), "HTTP/1.1 404"),
        (f"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(), "HTTP/1.1 400"),
    ]
    for text, want in cases:
        sock = socket.create_connection(("127.0.0.1", setup.get().port), timeout=10)
        sock.sendall(text)
        status, headers, _ = read_head(sock)
        h.require(status.startswith(want), f"{text[:40]!r}...: {status!r}, expected {want}")
        sock.close()
    h.require(gw.wait_stderr(lambda line: "origin \"http://evil.example\" is not allowed" in line, 5),
              "no log line for the refused Origin")


if __name__ == "__main__":
    T.run()
