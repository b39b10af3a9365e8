#!/usr/bin/python3
# test_proxy_protocol.py: tcp.proxy-protocol end to end — HAProxy (mode tcp,
# send-proxy-v2 and send-proxy) in front of a wss and a ws echo, the real
# client address in the gateway's log lines and per-address limits, spoofing
# refused both ways, the deadline, LOCAL health checks, and the v2 header the
# gateway sends a back-end (read by a Python back-end).
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import re
import socket
import ssl
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
from haproxylib import h, p  # noqa: E402
from haproxylib import check_config, log_lines, start_gateway, start_haproxy, wait_lines  # noqa: E402

T = h.Tap(case_timeout=60)
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
CLIENT_IP = "127.0.0.2"      # the client, told apart from HAProxy (127.0.0.1)
OTHER_IP = "127.0.0.3"
CAP = 2                      # per-address cap on the ws listener


# --------------------------------------------------------------------------
# A back-end that reads the PROXY v2 header the gateway sends, then echoes


class V2Backend:
    def __init__(self, tls=None):
        self.tls = tls        # an ssl.SSLContext: TLS starts after the header
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.headers = []     # (src, dst) per connection, or an error text
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def read_exact(conn, n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError(f"closed after {len(data)} of {n} bytes")
            data += chunk
        return data

    def parse(self, conn):
        fixed = self.read_exact(conn, 16)
        if fixed[:12] != V2_SIG:
            return f"no v2 signature: {fixed!r}"
        if fixed[12] != 0x21:
            return f"version/command byte {fixed[12]:#x}, expected 0x21 (v2 PROXY)"
        length = struct.unpack(">H", fixed[14:16])[0]
        body = self.read_exact(conn, length)
        if fixed[13] == 0x11 and length >= 12:
            src = socket.inet_ntop(socket.AF_INET, body[0:4])
            dst = socket.inet_ntop(socket.AF_INET, body[4:8])
            sport, dport = struct.unpack(">HH", body[8:12])
        elif fixed[13] == 0x21 and length >= 36:
            src = socket.inet_ntop(socket.AF_INET6, body[0:16])
            dst = socket.inet_ntop(socket.AF_INET6, body[16:32])
            sport, dport = struct.unpack(">HH", body[32:36])
        else:
            return f"family/transport byte {fixed[13]:#x} with length {length}"
        return (f"{src}:{sport}", f"{dst}:{dport}")

    def handle(self, conn):
        conn.settimeout(10)
        try:
            result = self.parse(conn)
        except (OSError, EOFError) as e:
            result = f"reading the header: {e}"
        with self.cond:
            self.headers.append(result)
            self.cond.notify_all()
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError as e:
            with self.cond:
                self.headers.append(f"after the header: {e!r}")
        finally:
            conn.close()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def wait_headers(self, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.headers) < count and time.monotonic() < deadline:
                self.cond.wait(0.1)
            return list(self.headers)

    def stop(self):
        self.stopping = True
        self.sock.close()


# --------------------------------------------------------------------------
# Set-up: a gateway with PROXY-protocol listeners, HAProxy in front


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-proxyproto-")
        haproxy = h.require_tool("haproxy")
        pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=pki, method="openssl")
        (self.gw_wss, self.gw_ws, self.gw_plain, self.gw_plain_wss, self.gw_tcp, self.gw_tcp_pp,
         self.gw_tcp_ssl, self.hp_wss_v2, self.hp_wss_v1, self.hp_ws_v2, self.hp_ws_v1,
         self.hp_tcp_v1) = h.free_ports(12)
        self.backend = V2Backend()
        T.add_cleanup(self.backend.stop)
        leaf = pki.server("localhost")
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(leaf.cert, leaf.key)
        self.ssl_backend = V2Backend(tls)
        T.add_cleanup(self.ssl_backend.stop)
        truststore = p.pem_truststore(self.dir, pki.ca.cert)
        # Accept URLs are what clients see (HAProxy's ports); *.bind is the
        # gateway's own port behind it.
        self.wss_urls = [f"wss://localhost:{self.hp_wss_v2}/echo", f"wss://localhost:{self.hp_wss_v1}/echo"]
        self.ws_urls = [f"ws://localhost:{self.hp_ws_v2}/echo", f"ws://localhost:{self.hp_ws_v1}/echo"]
        self.plain_url = f"ws://localhost:{self.gw_plain}/echo"
        self.plain_wss_url = f"wss://localhost:{self.gw_plain_wss}/echo"
        self.tcp_url = f"tcp://127.0.0.1:{self.gw_tcp}"
        self.tcp_pp_url = f"tcp://127.0.0.1:{self.hp_tcp_v1}"
        self.tcp_ssl_url = f"tcp://127.0.0.1:{self.gw_tcp_ssl}"
        pp = {"tcp.proxy-protocol": "true"}
        services = [
            h.service_xml("wss-pp", "echo", self.wss_urls,
                          accept_options=dict(pp, **{"wss.bind": f"127.0.0.1:{self.gw_wss}"})),
            h.service_xml("ws-pp", "echo", self.ws_urls,
                          accept_options=dict(pp, **{"ws.bind": f"127.0.0.1:{self.gw_ws}",
                                                     "tcp.maximum.connections.per.address": str(CAP)})),
            h.service_xml("plain", "echo", [self.plain_url]),
            h.service_xml("plain-wss", "echo", [self.plain_wss_url]),
            h.service_xml("to-v2-backend", "proxy", [self.tcp_url],
                          connects=[f"tcp://127.0.0.1:{self.backend.port}"],
                          connect_options=pp),
            h.service_xml("pp-to-v2-backend", "proxy", [self.tcp_pp_url],
                          connects=[f"tcp://127.0.0.1:{self.backend.port}"],
                          accept_options=dict(pp, **{"tcp.bind": f"127.0.0.1:{self.gw_tcp_pp}"}),
                          connect_options=pp),
            h.service_xml("to-v2-ssl-backend", "proxy", [self.tcp_ssl_url],
                          connects=[f"ssl://localhost:{self.ssl_backend.port}"],
                          connect_options=pp),
        ]
        ks = self.keystore.relative_to(self.dir)
        self.config = h.write_config(self.dir, p.config_xml(services, keystore=ks,
                                                            truststore=os.path.basename(truststore)))
        check_config(self.config)
        urls = self.wss_urls + self.ws_urls + [self.plain_url, self.plain_wss_url, self.tcp_url,
                                                self.tcp_pp_url, self.tcp_ssl_url]
        self.gw = start_gateway(T, self.config, urls, "postern run (PROXY protocol)")
        text = """global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
"""
        for front, back, send in ((self.hp_wss_v2, self.gw_wss, "send-proxy-v2"),
                                  (self.hp_wss_v1, self.gw_wss, "send-proxy"),
                                  (self.hp_ws_v2, self.gw_ws, "send-proxy-v2"),
                                  (self.hp_ws_v1, self.gw_ws, "send-proxy"),
                                  (self.hp_tcp_v1, self.gw_tcp_pp, "send-proxy")):
            text += f"""listen l{front}
    bind 127.0.0.1:{front}
    server gateway 127.0.0.1:{back} {send}
"""
        self.haproxy, _ = start_haproxy(T, haproxy, self.dir, text, self.hp_tcp_v1)

    def ctx(self):
        return self.keystore.client_context()


setup = h.Fixture("a gateway with tcp.proxy-protocol listeners, HAProxy (mode tcp) in front", Setup)


def client_socket(port, src_ip=CLIENT_IP, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src_ip, 0))
    s.settimeout(10)
    s.connect((host, port))
    return s


async def echo_session(url, sock, ctx=None):
    kw = {"sock": sock}
    if ctx is not None:
        kw["server_hostname"] = "localhost"
    async with h.ws_connect(url, ssl_ctx=ctx, **kw) as conn:
        await h.echo_once(conn, "through HAProxy ✓")
        await h.echo_once(conn, os.urandom(70000))
        await conn.close()


def through_haproxy(service, front, url, tls):
    s = setup.get()
    sock = client_socket(front)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    h.arun(echo_session(url, sock, s.ctx() if tls else None), 30)
    opened = wait_lines(s.gw, rf"(?:^|: )open {service} client={re.escape(me)} via=127\.0\.0\.1:\d+ ")
    h.require(opened, f"no open line names the client {me} behind HAProxy:\n{s.gw.describe()}")
    closed = wait_lines(s.gw, rf"(?:^|: )close {service} client={re.escape(me)} via=127\.0\.0\.1:\d+ .*code=1000")
    h.require(closed, f"no close line (code 1000) names the client {me}:\n{s.gw.describe()}")
    if tls:
        h.require(" tls=TLSv1." in opened[0], f"no TLS on the gateway's leg: {opened[0]}")
    h.require(s.haproxy.proc.poll() is None, f"haproxy exited:\n{s.haproxy.output()}")


@T.case("wss echo behind HAProxy send-proxy-v2: open and close lines name the real client "
        "(127.0.0.2:port) and HAProxy as via=")
def _():
    s = setup.get()
    through_haproxy("wss-pp", s.hp_wss_v2, s.wss_urls[0], True)


@T.case("wss echo behind HAProxy send-proxy (v1): the real client in open and close lines")
def _():
    s = setup.get()
    through_haproxy("wss-pp", s.hp_wss_v1, s.wss_urls[1], True)


@T.case("ws echo behind HAProxy send-proxy-v2: the real client in open and close lines")
def _():
    s = setup.get()
    through_haproxy("ws-pp", s.hp_ws_v2, s.ws_urls[0], False)


@T.case("ws echo behind HAProxy send-proxy (v1): the real client in open and close lines")
def _():
    s = setup.get()
    through_haproxy("ws-pp", s.hp_ws_v1, s.ws_urls[1], False)


@T.case(f"per-address cap ({CAP}) counts the header's client, not HAProxy: a third session "
        f"from {CLIENT_IP} is refused, {OTHER_IP} through the same HAProxy is served")
def _():
    s = setup.get()
    ws = h.import_websockets()

    async def scenario():
        held = []
        try:
            for _ in range(CAP):
                conn = await h.ws_connect(s.ws_urls[0], sock=client_socket(s.hp_ws_v2)).__aenter__()
                held.append(conn)
                await h.echo_once(conn, "held")
            refused = False
            try:
                conn = await h.ws_connect(s.ws_urls[0], sock=client_socket(s.hp_ws_v2),
                                          open_timeout=5).__aenter__()
                held.append(conn)
            except (ws.exceptions.InvalidHandshake, ws.exceptions.ConnectionClosed, OSError,
                    asyncio.TimeoutError, EOFError):
                refused = True
            h.require(refused, f"a session beyond the cap of {CAP} from {CLIENT_IP} was served")
            other = await h.ws_connect(s.ws_urls[0], sock=client_socket(s.hp_ws_v2, OTHER_IP)).__aenter__()
            held.append(other)
            await h.echo_once(other, "another client behind the same balancer")
            for conn in held[:CAP]:
                await h.echo_once(conn, "still served")
        finally:
            for conn in held:
                await conn.close()

    h.arun(scenario(), 40)
    h.require(wait_lines(s.gw, rf"client {re.escape(CLIENT_IP)} holds {CAP} connections"),
              f"no per-address refusal line for {CLIENT_IP}:\n{s.gw.describe()}")


def refused_without_answer(sock, payload, timeout=10.0):
    """Send payload; the gateway must close without a byte of answer."""
    sock.sendall(payload)
    sock.settimeout(timeout)
    got = b""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
            got += data
    except ConnectionResetError:
        pass
    return got


UPGRADE = (b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


@T.case("no header where one is required: a WebSocket upgrade straight to the ws listener is "
        "closed unanswered and the log names the peer and the reason")
def _():
    s = setup.get()
    sock = client_socket(s.gw_ws)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    got = refused_without_answer(sock, UPGRADE)
    sock.close()
    h.check_equal(got, b"", "bytes answered to a connection without a PROXY header")
    line = wait_lines(s.gw, rf"(?:^|: )client {re.escape(me)}: refused: the connection does not start with a "
                            r"PROXY protocol header .*tcp\.proxy-protocol")
    h.require(line, f"no refusal line naming {me}:\n{s.gw.describe()}")
    h.require(not log_lines(s.gw, rf"(?:^|: )open ws-pp client={re.escape(me)}"), "the connection was served")


@T.case("no header where one is required: a TLS ClientHello straight to the wss listener is "
        "closed and logged")
def _():
    s = setup.get()
    sock = client_socket(s.gw_wss)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    ctx = s.ctx()
    failed = False
    try:
        ctx.wrap_socket(sock, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        failed = True
        h._diag(f"client saw: {e!r}")
    h.require(failed, "a TLS handshake without a PROXY header succeeded")
    h.require(wait_lines(s.gw, rf"(?:^|: )client {re.escape(me)}: refused: the connection does not start"),
              f"no refusal line naming {me}:\n{s.gw.describe()}")


@T.case("spoofing: a v1 header sent to a ws listener without tcp.proxy-protocol is not "
        "believed: the connection fails as bad HTTP and the spoofed address is never logged")
def _():
    s = setup.get()
    sock = client_socket(s.gw_plain)
    got = refused_without_answer(sock, b"PROXY TCP4 203.0.113.7 127.0.0.1 4444 80\r\n" + UPGRADE)
    sock.close()
    h.require(b" 101 " not in got.split(b"\r\n", 1)[0], f"the upgrade was accepted: {h.short(got)}")
    time.sleep(0.3)
    h.require(not log_lines(s.gw, r"client=203\.0\.113\.7"), "the spoofed address reached a log line")


@T.case("spoofing: a v2 header sent to a wss listener without tcp.proxy-protocol is refused "
        "as not TLS; the spoofed address is never logged")
def _():
    s = setup.get()
    sock = client_socket(s.gw_plain_wss)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    header = V2_SIG + bytes([0x21, 0x11, 0, 12]) + socket.inet_aton("203.0.113.8") + \
        socket.inet_aton("127.0.0.1") + struct.pack(">HH", 4444, 443)
    got = refused_without_answer(sock, header + b"\x16\x03\x01\x00\x05hello")
    sock.close()
    h.check_equal(got, b"", "bytes answered")
    h.require(wait_lines(s.gw, rf"(?:^|: )client {re.escape(me)}: sent something that is not TLS"),
              f"no 'not TLS' line naming {me}:\n{s.gw.describe()}")
    h.require(not log_lines(s.gw, r"203\.0\.113\.8"), "the spoofed address reached a log line")


@T.case("a malformed v1 header (port 70000) is refused with its reason; a v2 LOCAL header "
        "(health check) keeps the real peer's address and is served")
def _():
    s = setup.get()
    sock = client_socket(s.gw_ws)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    refused_without_answer(sock, b"PROXY TCP4 1.2.3.4 127.0.0.1 70000 80\r\n" + UPGRADE)
    sock.close()
    h.require(wait_lines(s.gw, rf"(?:^|: )client {re.escape(me)}: refused: a PROXY v1 port is not a number"),
              f"no refusal line with the reason:\n{s.gw.describe()}")

    sock = client_socket(s.gw_ws)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    sock.sendall(V2_SIG + bytes([0x20, 0x00, 0, 0]))

    async def local():
        async with h.ws_connect(s.ws_urls[0], sock=sock) as conn:
            await h.echo_once(conn, "health")

    h.arun(local(), 20)
    h.require(wait_lines(s.gw, rf"(?:^|: )open ws-pp client={re.escape(me)} backend="),
              f"no open line with the real peer {me} (and no via=):\n{s.gw.describe()}")


@T.case("an IPv6 client in a v1 TCP6 header sent straight to the ws listener becomes the "
        "client of the open line")
def _():
    s = setup.get()
    sock = client_socket(s.gw_ws)
    sock.sendall(b"PROXY TCP6 2001:db8::7 ::1 5555 443\r\n")

    async def session():
        async with h.ws_connect(s.ws_urls[0], sock=sock) as conn:
            await h.echo_once(conn, "from 2001:db8::7")

    h.arun(session(), 20)
    h.require(wait_lines(s.gw, r"(?:^|: )open ws-pp client=\[2001:db8::7\]:5555 via=127\.0\.0\.2:"),
              f"no open line naming [2001:db8::7]:5555:\n{s.gw.describe()}")


@T.case("a header that stops half-way is closed by the 10 s deadline, logged; sessions "
        "through HAProxy meanwhile are untouched", timeout=40)
def _():
    s = setup.get()

    async def scenario():
        held = await h.ws_connect(s.ws_urls[0], sock=client_socket(s.hp_ws_v2, OTHER_IP)).__aenter__()
        try:
            sock = client_socket(s.gw_ws)
            me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
            sock.sendall(b"PROXY TCP4 192.0.2.1 ")
            t0 = time.monotonic()
            loop = asyncio.get_running_loop()
            got = await loop.run_in_executor(None, refused_without_answer, sock, b"", 15.0)
            took = time.monotonic() - t0
            sock.close()
            h.check_equal(got, b"", "bytes answered")
            h.require(8.5 <= took <= 12.5, f"closed after {took:.1f} s, expected about 10 s")
            h.require(wait_lines(s.gw, rf"(?:^|: )client {re.escape(me)}: no PROXY protocol header within 10 s"),
                      f"no deadline line naming {me}:\n{s.gw.describe()}")
            await h.echo_once(held, "still here")
        finally:
            await held.close()

    h.arun(scenario(), 35)


def tcp_echo(sock, payload):
    sock.sendall(payload)
    got = b""
    while len(got) < len(payload):
        data = sock.recv(65536)
        if not data:
            break
        got += data
    return got


def through_v2_backend(port, backend, size, what):
    """A tcp session from CLIENT_IP to port that reaches backend and echoes
    size random bytes; returns (the client's address, the header the
    back-end read for it)."""
    s = setup.get()
    before = len(backend.headers)
    sock = client_socket(port)
    me = f"{CLIENT_IP}:{sock.getsockname()[1]}"
    payload = os.urandom(size)
    got = tcp_echo(sock, payload)
    sock.close()
    h.require(got == payload, f"echo {what} differs ({len(got)} of {len(payload)} bytes):\n"
                              f"{backend.headers[before:]}\n{s.gw.describe()}")
    headers = backend.wait_headers(before + 1)
    h.require(len(headers) > before, "the back-end saw no connection")
    return me, headers[before]


@T.case("connect side: a tcp proxy with connect option tcp.proxy-protocol sends a v2 header "
        "naming the client (source) and the gateway's accepted address (destination)")
def _():
    s = setup.get()
    me, header = through_v2_backend(s.gw_tcp, s.backend, 100000, "through the back-end")
    h.check_equal(header, (me, f"127.0.0.1:{s.gw_tcp}"), "PROXY v2 (source, destination)")


@T.case("connect side, ssl:// back-end: the v2 header goes out before the TLS ClientHello; the "
        "back-end reads it, then does TLS (verified by the gateway's truststore) and echoes")
def _():
    s = setup.get()
    me, header = through_v2_backend(s.gw_tcp_ssl, s.ssl_backend, 100000, "through the TLS back-end")
    h.check_equal(header, (me, f"127.0.0.1:{s.gw_tcp_ssl}"), "PROXY v2 (source, destination)")


@T.case("both sides: HAProxy send-proxy → tcp accept with tcp.proxy-protocol → back-end: "
        "the v2 header the back-end reads names the client behind HAProxy")
def _():
    s = setup.get()
    me, header = through_v2_backend(s.hp_tcp_v1, s.backend, 50000, "through HAProxy and the back-end")
    h.check_equal(header[0], me, "PROXY v2 source seen by the back-end")
    h.require(wait_lines(s.gw, rf"(?:^|: )open pp-to-v2-backend client={re.escape(me)} via=127\.0\.0\.1:"),
              f"no open line naming {me}:\n{s.gw.describe()}")


@T.case("postern check: tcp.proxy-protocol “yes” is an error naming the line and the values; "
        "two services on one port that disagree are an error naming both")
def _():
    d = T.tmpdir("postern-proxyproto-check-")
    port = h.free_port()
    bad = h.write_config(d, h.config_xml([
        h.service_xml("a", "echo", [f"ws://localhost:{port}/a"], accept_options={"tcp.proxy-protocol": "yes"}),
    ]), name="bad.xml")
    r = h.run_postern(["check", "--config", bad])
    h.check_equal(r.returncode, 1, "postern check exit status")
    h.require(re.search(r"bad\.xml:\d+:\d+: error: .*tcp\.proxy-protocol is “yes”; use “true”", r.stderr + r.stdout),
              f"no error naming the value:\n{r.stdout}{r.stderr}")
    mixed = h.write_config(d, h.config_xml([
        h.service_xml("a", "echo", [f"ws://localhost:{port}/a"], accept_options={"tcp.proxy-protocol": "true"}),
        h.service_xml("b", "echo", [f"ws://localhost:{port}/b"]),
    ]), name="mixed.xml")
    r = h.run_postern(["check", "--config", mixed])
    h.check_equal(r.returncode, 1, "postern check exit status")
    h.require(re.search(r"mixed\.xml:\d+:\d+: error: .*\(service “b”\) has tcp\.proxy-protocol “false” but "
                        r".*\(service “a”", r.stderr + r.stdout),
              f"no conflict error naming both services:\n{r.stdout}{r.stderr}")


T.run()
