#!/usr/bin/python3
# test_tls_records.py: issue 10 item 3 -- TLS 1.3 post-handshake records
# through the epoll-driven pump.  GnuTLS reads them inside a record read
# (NewSessionTicket from a back-end, KeyUpdate from either peer, and a
# KeyUpdate that asks for ours in return: a write made by a read), so
# the pump must neither stall on them nor spin.  The peers are openssl
# s_server (an ssl:// back-end) and openssl s_client (a wss:// client),
# driven interactively: `k` sends a KeyUpdate, `K` one that requests the
# peer's.  Data must flow both ways after each.
# SPDX-License-Identifier: Apache-2.0
import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=90)
WAIT = 15.0   # one exchange


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        ks = p.tls_material(self, self.dir)
        self.echo = p.Server("tcp echo", p.echo_handler)
        T.add_cleanup(self.echo.close)
        ws_port, wss_port, self.sserver_port = h.free_ports(3)
        self.ws_url = f"ws://localhost:{ws_port}/ku"
        self.wss_url = f"wss://localhost:{wss_port}/ku"
        self.ws_port, self.wss_port = ws_port, wss_port
        # the back-end: TLS 1.3 only; it sends session tickets after its
        # handshake (OpenSSL's default: two)
        self.sserver = p.Proc([self.pki.openssl, "s_server", "-accept", str(self.sserver_port),
                               "-cert", self.leaf.cert, "-key", self.leaf.key, "-tls1_3", "-msg"],
                              "s_server", self.dir, ready_port=self.sserver_port, open_stdin=True)
        T.add_cleanup(self.sserver.kill)
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("to-sserver", "proxy", [self.ws_url], [f"ssl://localhost:{self.sserver_port}"]),
            h.service_xml("from-sclient", "proxy", [self.wss_url], [f"tcp://127.0.0.1:{self.echo.port}"]),
        ], ks, os.path.relpath(self.truststore, self.dir)))
        self.gw = h.start_gateway(self.config, [self.ws_url, self.wss_url], name="postern run (tls records)")


setup = h.Fixture("PKI, openssl s_server back-end, tcp echo, gateway", Setup)


def wait_output(proc, pattern, count=1, timeout=WAIT, what=None):
    """Until `pattern` (a regex) occurs `count` times in proc's output."""
    deadline = time.monotonic() + timeout
    while True:
        out = proc.output() if isinstance(proc, p.Proc) else proc()
        if len(re.findall(pattern, out)) >= count:
            return out
        if time.monotonic() > deadline:
            raise h.Fail(f"{what or pattern!r}: not seen within {timeout} s; output ends:\n{out[-1500:]}")
        time.sleep(0.05)


def send_line(proc, text):
    proc.proc.stdin.write(text.encode())
    proc.proc.stdin.flush()


@T.case("ssl:// back-end (openssl s_server, TLS 1.3): its session tickets, a KeyUpdate, and a "
        "KeyUpdate requesting ours; bytes flow both ways after each")
def _():
    s = setup.get()
    srv = s.sserver
    sock = socket.create_connection(("127.0.0.1", s.ws_port), timeout=WAIT)
    ws = p.RawWs.open(sock, f"localhost:{s.ws_port}", "/ku")
    got = bytearray()

    def receive(want, what):
        deadline = time.monotonic() + WAIT
        while want not in got:
            h.require(time.monotonic() < deadline, f"{what}: {want!r} not received within {WAIT} s "
                      f"(got {bytes(got)[-200:]!r}); s_server:\n{srv.output()[-1500:]}")
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                n = ws.feed_from_socket(65536)
            except socket.timeout:
                continue
            h.require(n > 0, f"{what}: the gateway closed the connection; s_server:\n{srv.output()[-1500:]}")
            for fin, op, payload in ws.take_frames():
                h.require(op in (0x0, 0x2), f"{what}: frame opcode {op}, not binary data")
                got.extend(payload)

    # the gateway has read the tickets (they came first) when this arrives
    ws.send(0x2, b"ping-1\n")
    wait_output(srv, r"ping-1", what="s_server received ping-1 (after its session tickets)")
    send_line(srv, "back-1\n")
    receive(b"back-1\n", "s_server's first line")

    send_line(srv, "k\n")                # KeyUpdate, no answer requested
    time.sleep(0.3)
    send_line(srv, "back-2\n")
    receive(b"back-2\n", "s_server's line after its KeyUpdate")
    ws.send(0x2, b"ping-2\n")
    wait_output(srv, r"ping-2", what="s_server received ping-2 after its KeyUpdate")

    send_line(srv, "K\n")                # KeyUpdate requesting ours: the gateway writes from a read
    time.sleep(0.3)
    send_line(srv, "back-3\n")
    receive(b"back-3\n", "s_server's line after a KeyUpdate requesting ours")
    ws.send(0x2, b"ping-3\n")
    wait_output(srv, r"ping-3", what="s_server received ping-3 under the gateway's updated keys")
    # s_server -msg: what it sent (>>>) and what the gateway sent back (<<<)
    out = srv.output()
    h.require(re.search(r">>> TLS 1\.3, Handshake \[[^]]*\], NewSessionTicket", out),
              f"s_server sent no session ticket in TLS 1.3:\n{out[-1500:]}")
    h.require(re.search(r"<<< TLS 1\.3, Handshake \[[^]]*\], KeyUpdate", out),
              f"the gateway did not answer the KeyUpdate that requested its own:\n{out[-1500:]}")
    ws.close()
    sock.close()
    h.require(s.gw.running(), "the gateway exited")


@T.case("wss:// client (openssl s_client, TLS 1.3) sends a KeyUpdate requesting ours, then one "
        "not requesting it; echoes flow after each")
def _():
    s = setup.get()
    log_path = os.path.join(s.dir, "s_client.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen([s.pki.openssl, "s_client", "-connect", f"127.0.0.1:{s.wss_port}",
                             "-servername", "localhost", "-tls1_3", "-CAfile", s.pki.ca.cert,
                             "-verify_return_error", "-crlf", "-msg"],
                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    class Client:
        def __init__(self):
            self.proc = proc

        def output(self):
            log.flush()
            with open(log_path, "rb") as f:
                return f.read().decode("latin-1")

    c = Client()
    T.add_cleanup(lambda: proc.poll() is None and proc.kill())
    try:
        wait_output(c.output, r"Verify return code: 0", what="s_client's handshake")
        # -crlf turns each \n into \r\n: the upgrade request as typed
        send_line(c, f"GET /ku HTTP/1.1\nHost: localhost:{s.wss_port}\nUpgrade: websocket\n"
                     "Connection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\n"
                     "Sec-WebSocket-Version: 13\n\n")
        wait_output(c.output, r"HTTP/1\.1 101", what="the upgrade's 101")

        def frame(payload):
            # masked with a zero key (RFC 6455 allows any key): no \n byte
            # anywhere for -crlf to rewrite
            return bytes([0x82, 0x80 | len(payload)]) + b"\0\0\0\0" + payload

        def echo(n):
            proc.stdin.write(frame(b"ping-%d" % n))
            proc.stdin.flush()
            wait_output(c.output, r"ping-%d" % n, what=f"echo of ping-{n}")

        echo(1)
        proc.stdin.write(b"K\n")
        proc.stdin.flush()
        wait_output(c.output, r"KEYUPDATE", count=1, what="s_client's KeyUpdate (requesting ours)")
        time.sleep(0.3)
        echo(2)
        proc.stdin.write(b"k\n")
        proc.stdin.flush()
        wait_output(c.output, r"KEYUPDATE", count=2, what="s_client's second KeyUpdate")
        time.sleep(0.3)
        echo(3)
        h.require(proc.poll() is None, f"s_client exited:\n{c.output()[-1500:]}")
        h.require(re.search(r"<<< TLS 1\.3, Handshake \[[^]]*\], KeyUpdate", c.output()),
                  f"the gateway did not answer the KeyUpdate that requested its own:\n{c.output()[-1500:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        log.close()
    h.require(s.gw.running(), "the gateway exited")


if __name__ == "__main__":
    T.run()
