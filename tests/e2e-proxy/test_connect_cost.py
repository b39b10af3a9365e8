#!/usr/bin/python3
# test_connect_cost.py: issue 10, the cost of a new connection.
# - A ClientHello, or a PROXY header and then a ClientHello, that arrives in
#   pieces a second apart is waited for without waking the gateway's main
#   thread (its context switches while the piece is missing stay few: no
#   polling timer), and the handshake, upgrade and echo complete after it;
#   one cut short by the peer closing its side is closed (refused) at once.
# - The back-end dial: N wss -> ssl://localhost connections make N back-end
#   connections with one connect() each (the address that answered is tried
#   first; "localhost" is not resolved again per connection), and a
#   back-end that moves (127.0.0.1 -> ::1, same port) is still reached by
#   the next connection: the remembered address refused, the name is
#   resolved again.
# SPDX-License-Identifier: Apache-2.0
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=120)

GAP = 1.5          # seconds a piece is held back
MAX_WAKEUPS = 40   # main-thread context switches allowed while it is (a 5 ms timer: ~300)
N = 30             # back-end connections counted


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.tls_echo = p.Server("tls-echo", p.echo_handler, p.server_ssl_context(self.pki.server()))
        T.add_cleanup(self.tls_echo.close)
        self.moving = p.Server("tls-echo (moves to ::1)", p.echo_handler,
                               p.server_ssl_context(self.pki.server()))
        T.add_cleanup(lambda: self.moving.close())
        self.echo_port, self.pp_port, self.proxy_port, self.moving_port = h.free_ports(4)
        self.echo_url = f"wss://localhost:{self.echo_port}/echo"
        self.pp_url = f"wss://localhost:{self.pp_port}/echo"
        self.proxy_url = f"wss://localhost:{self.proxy_port}/proxy"
        self.moving_url = f"wss://localhost:{self.moving_port}/moving"
        ks = (os.path.relpath(self.keystore.store, self.dir),
              os.path.relpath(self.keystore.password_file, self.dir))
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("echo", "echo", [self.echo_url]),
            h.service_xml("echo-pp", "echo", [self.pp_url], accept_options={"tcp.proxy-protocol": "true"}),
            h.service_xml("proxy", "proxy", [self.proxy_url], [f"ssl://localhost:{self.tls_echo.port}"]),
            h.service_xml("moving", "proxy", [self.moving_url], [f"ssl://localhost:{self.moving.port}"]),
        ], ks, os.path.relpath(self.truststore, self.dir)))

    def ctx(self):
        return h.client_ssl_context(cafile=self.pki.ca.cert)


setup = h.Fixture("PKI, key store, truststore, TLS echo back-end", Setup)
gateway = h.Fixture("postern run (echo, echo behind PROXY, proxy to ssl://localhost)",
                    lambda: h.start_gateway(setup.get().config,
                                            [setup.get().echo_url, setup.get().pp_url,
                                             setup.get().proxy_url, setup.get().moving_url], name="postern run (connect cost)",
                                            # one process: strace and /proc look at its threads
                                            extra_args=["--workers", "1"]))


def main_thread_switches(pid):
    with open(f"/proc/{pid}/task/{pid}/status") as f:
        fields = dict(l.split(":", 1) for l in f if "ctxt_switches" in l)
    return sum(int(v) for v in fields.values())


class MemoryTls:
    """A TLS client over a plain socket through MemoryBIOs: the test decides
    when each byte of the ClientHello goes out."""

    def __init__(self, sock, ctx, hostname):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=hostname)

    def client_hello(self):
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def _pump_in(self):
        data = self.sock.recv(65536)
        if not data:
            raise h.Fail("the gateway closed the connection during the TLS exchange")
        self.inc.write(data)

    def finish_handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = self.out.read()
                if pending:
                    self.sock.sendall(pending)
                self._pump_in()
        pending = self.out.read()
        if pending:
            self.sock.sendall(pending)

    def send(self, data):
        self.obj.write(data)
        self.sock.sendall(self.out.read())

    def recv(self):
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._pump_in()


def upgrade_and_echo(tls, port, payload):
    tls.send((f"GET /echo HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += tls.recv()
    head, rest = head.split(b"\r\n\r\n", 1)
    h.require(head.startswith(b"HTTP/1.1 101"), f"no 101 after the trickled handshake: {h.short(head)}")
    tls.send(p.mask_frame(0x1, payload))
    parser = p.FrameParser()
    frames = parser.feed(rest)
    while not frames:
        frames = parser.feed(tls.recv())
    h.check_equal(frames[0][2], payload, "echoed message")


def trickled(port, pieces_before_hello):
    """pieces_before_hello: PROXY header pieces sent first.  Returns the
    largest number of main-thread context switches seen over one gap."""
    s = setup.get()
    gw = gateway.get()
    pid = gw.proc.pid
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    worst = 0
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = MemoryTls(sock, s.ctx(), "localhost")
        hello = tls.client_hello()
        h.require(len(hello) > 80, f"ClientHello of {len(hello)} bytes")
        pieces = list(pieces_before_hello) + [hello[:3], hello[3:60], hello[60:]]
        for i, piece in enumerate(pieces):
            sock.sendall(piece)
            if i == len(pieces) - 1:
                break
            before = main_thread_switches(pid)
            time.sleep(GAP)
            worst = max(worst, main_thread_switches(pid) - before)
        tls.finish_handshake()
        upgrade_and_echo(tls, port, b"after a trickled ClientHello")
    finally:
        sock.close()
    return worst


@T.case("a ClientHello sent in 3 pieces 1.5 s apart: the gateway's main thread sleeps while a "
        f"piece is missing (< {MAX_WAKEUPS} context switches per gap), then handshake, upgrade, echo")
def _():
    worst = trickled(setup.get().echo_port, [])
    h.require(worst < MAX_WAKEUPS, f"{worst} main-thread context switches in {GAP} s waiting for a "
                                   "ClientHello piece: the wait polls")


@T.case("a PROXY v1 header in 2 pieces and then a ClientHello in 3, 1.5 s apart: no polling "
        "while waiting, then handshake, upgrade, echo")
def _():
    header = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 443\r\n"
    worst = trickled(setup.get().pp_port, [header[:9], header[9:]])
    h.require(worst < MAX_WAKEUPS, f"{worst} main-thread context switches in {GAP} s waiting for a "
                                   "piece of the PROXY header or the ClientHello: the wait polls")
    gw = gateway.get()
    p.wait_log(gw, lambda l: "192.0.2.7" in l and "open echo-pp" in l, 10,
               "the open line naming the PROXY header's client 192.0.2.7")


def closed_within(sock, seconds):
    """Seconds until the gateway closed sock (EOF or reset), or None."""
    sock.settimeout(seconds)
    t0 = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except socket.timeout:
        return None
    except OSError:
        pass
    return time.monotonic() - t0


@T.case("a ClientHello cut short by the client closing its side: the gateway closes at once, "
        "not at the 10 s deadline, and does not spin meanwhile")
def _():
    s = setup.get()
    gw = gateway.get()
    sock = socket.create_connection(("127.0.0.1", s.echo_port), timeout=10)
    try:
        hello = MemoryTls(sock, s.ctx(), "localhost").client_hello()
        sock.sendall(hello[:40])
        time.sleep(0.3)
        before = main_thread_switches(gw.proc.pid)
        sock.shutdown(socket.SHUT_WR)
        took = closed_within(sock, 5)
        h.require(took is not None, "the gateway kept a connection whose ClientHello can never be complete")
        h.require(main_thread_switches(gw.proc.pid) - before < MAX_WAKEUPS, "the gateway spun on the half-closed socket")
    finally:
        sock.close()
    # and it still serves
    upgrade_and_echo_fresh(s.echo_port)


@T.case("a PROXY header cut short by the balancer closing its side: refused at once with the "
        "reason, not at the deadline")
def _():
    s = setup.get()
    gw = gateway.get()
    sock = socket.create_connection(("127.0.0.1", s.pp_port), timeout=10)
    try:
        sock.sendall(b"PROXY TCP4 192.0.2.9 127.0.0")
        time.sleep(0.3)
        sock.shutdown(socket.SHUT_WR)
        took = closed_within(sock, 5)
        h.require(took is not None, "the gateway kept a connection whose PROXY header can never be complete")
    finally:
        sock.close()
    p.wait_log(gw, lambda l: "closed in the middle of the PROXY protocol header" in l, 5,
               "the refusal naming the cut-short PROXY header")


def upgrade_and_echo_fresh(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        tls = MemoryTls(sock, setup.get().ctx(), "localhost")
        sock.sendall(tls.client_hello())
        tls.finish_handshake()
        upgrade_and_echo(tls, port, b"still serving")
    finally:
        sock.close()


class Strace:
    """strace -f -e trace=connect on the gateway until stop()."""

    def __init__(self, pid, directory):
        self.out = os.path.join(directory, f"strace-{pid}-{time.monotonic_ns()}.txt")
        self.proc = subprocess.Popen([h.require_tool("strace"), "-f", "-qq", "-e", "trace=connect,socket",
                                      "-o", self.out, "-p", str(pid)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        T.add_cleanup(self.kill)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(self._tracer(pid, tid) for tid in os.listdir(f"/proc/{pid}/task")):
                return
            time.sleep(0.05)
        raise h.Fail(f"strace did not attach to {pid} within 10 s")

    @staticmethod
    def _tracer(pid, tid):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                return any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f)
        except OSError:
            return True   # the thread ended

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        with open(self.out, errors="replace") as f:
            return f.read().splitlines()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@T.case(f"{N} wss -> ssl://localhost connections: one connect() per back-end connection "
        "(the address that answered is tried first), every echo intact")
def _():
    s = setup.get()
    gw = gateway.get()

    async def one(text):
        async with h.ws_connect(s.proxy_url, ssl_ctx=s.ctx()) as ws:
            await h.echo_once(ws, text)

    async def many():
        for i in range(N):
            await one(f"message {i}".encode())

    # the first connection resolves and learns which address answers
    h.arun(one(b"warm-up"), 30)
    tracer = Strace(gw.proc.pid, s.dir)
    h.arun(many(), 90)
    lines = tracer.stop()
    backend = f"htons({s.tls_echo.port})"
    connects = [l for l in lines if "connect(" in l and backend in l]
    h.require(len(connects) == N, f"{len(connects)} connect() calls to the back-end for {N} connections "
                                  f"(one each expected):\n" + "\n".join(connects[:12]))


async def echo_via(url, ctx, data):
    async with h.ws_connect(url, ssl_ctx=ctx) as ws:
        await h.echo_once(ws, data)


@T.case("a back-end host name that moves (localhost: 127.0.0.1 -> ::1, same port): the next "
        "connection reaches it — the remembered address refuses, the name is resolved again")
def _():
    s = setup.get()
    gateway.get()
    h.arun(echo_via(s.moving_url, s.ctx(), b"before the move"), 30)
    h.arun(echo_via(s.moving_url, s.ctx(), b"still there"), 30)
    h.check_equal(len(s.moving.wait_records(2, 10)), 2, "connections the 127.0.0.1 back-end saw")
    port = s.moving.port
    s.moving.close()
    try:
        v6 = p.Server("tls-echo on ::1", p.echo_handler, p.server_ssl_context(s.pki.server()),
                      host="::1", port=port)
    except OSError as e:
        raise h.Fail(f"cannot listen on [::1]:{port} for the moved back-end: {e}")
    T.add_cleanup(v6.close)
    h.arun(echo_via(s.moving_url, s.ctx(), b"after the move"), 30)
    h.check_equal(len(v6.wait_records(1, 10)), 1, "connections the moved back-end on ::1 saw")


T.run()
