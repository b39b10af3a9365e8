#!/usr/bin/python3
# test_tls_server.py: issue 10 — the accept leg's TLS on our own GnuTLS
# server (pst-tls-server.c): session resumption with openssl s_client (TLS
# 1.2 and 1.3), handshakes fed one byte at a time and split at every
# boundary, client certificates on resumed sessions (refused where one is
# required and the session had none; still named in the log lines when it
# had one), a client stalled mid-handshake dropped at the deadline without
# hurting others, and no thread of GIO's pool for handshakes and closes.
# SPDX-License-Identifier: Apache-2.0
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=120)

DEADLINE = 10.0          # TLS handshake and request head, from accept
DEADLINE_WAIT = 16.0
RESUMES = 8              # resumptions of one ticket (on any worker)


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        (self.port,) = h.free_ports(1)
        self.config, self.urls = h.echo_config(self.dir, self.keystore, wss_port=self.port)
        self.ca = self.keystore.trust_pem


setup = h.Fixture("CA, keystore and an echo config on wss://", Setup)


def start():
    s = setup.get()
    # two workers: a resumed ticket may land on either
    gw = h.start_gateway(s.config, s.urls, name="postern run (tls server)", extra_args=("--workers", "2"))
    T.add_cleanup(gw.kill)
    return gw


gateway = h.Fixture("postern run on the wss:// echo config", start)


# --------------------------------------------------------------------------
# a TLS client over memory BIOs: the test decides how its bytes go out


class BioClient:
    """Python's TLS over MemoryBIOs on a plain socket: send() cuts what the
    client has to send as the test says, so the gateway reads a ClientHello
    or a flight in pieces."""

    def __init__(self, port, version, ca, cert=None, session=None, ctx=None):
        if ctx is None:
            ctx = ssl.create_default_context(cafile=ca)
            ctx.minimum_version = ctx.maximum_version = version
            if cert is not None:
                ctx.load_cert_chain(cert.cert, cert.key)
        self.ctx = ctx
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost", session=session)
        self.sock = p.connected_socket(port)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def pending(self):
        return self.out.read()

    def recv_some(self, deadline):
        self.sock.settimeout(max(0.05, deadline - time.monotonic()))
        data = self.sock.recv(65536)
        if not data:
            raise h.Fail("the gateway closed the connection during the handshake")
        self.inc.write(data)

    def handshake(self, cut, timeout=20.0):
        """Drive the handshake; every flight the client sends goes through
        cut(flight_number, data), which sends it."""
        deadline = time.monotonic() + timeout
        flight = 0
        while True:
            try:
                self.tls.do_handshake()
                done = True
            except ssl.SSLWantReadError:
                done = False
            data = self.pending()
            if data:
                cut(flight, data)
                flight += 1
            if done:
                return
            h.require(time.monotonic() < deadline, f"handshake not done within {timeout} s")
            self.recv_some(deadline)

    def write(self, data):
        self.tls.write(data)
        self.sock.sendall(self.pending())

    def read_until(self, marker, timeout=10.0):
        deadline = time.monotonic() + timeout
        got = b""
        while marker not in got:
            try:
                got += self.tls.read(65536)
                continue
            except ssl.SSLWantReadError:
                pass
            h.require(time.monotonic() < deadline, f"no {marker!r} within {timeout} s; got {got[:200]!r}")
            self.recv_some(deadline)
        return got

    def close(self):
        self.sock.close()


def echo_over(c):
    """An upgrade and one echoed text message over the handshaken client."""
    c.write(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = c.read_until(b"\r\n\r\n")
    h.require(head.startswith(b"HTTP/1.1 101"), f"no 101 for the upgrade: {head[:200]!r}")
    c.write(p.mask_frame(0x1, b"byte by byte"))
    frame = c.read_until(b"byte by byte")
    h.require(frame.endswith(b"byte by byte"), f"echo frame: {frame!r}")


def one_byte_at_a_time(sock):
    def cut(flight, data):
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            time.sleep(0.0005)
    return cut


for version, name in ((ssl.TLSVersion.TLSv1_3, "TLS 1.3"), (ssl.TLSVersion.TLSv1_2, "TLS 1.2")):
    @T.case(f"{name}: every byte of the client's handshake in its own segment (ClientHello and "
            "the second flight): the handshake completes and a WebSocket echoes")
    def _(version=version):
        s = setup.get()
        gateway.get()
        c = BioClient(s.port, version, s.ca)
        try:
            c.handshake(one_byte_at_a_time(c.sock))
            h.check_equal(c.tls.version(), "TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2",
                          "negotiated version")
            echo_over(c)
        finally:
            c.close()

    @T.case(f"{name}: the ClientHello and the client's second flight split in two at every "
            "boundary (a connection per split): every handshake completes")
    def _(version=version):
        s = setup.get()
        gateway.get()
        for flight_no in (0, 1):
            k = 1
            done = 0
            while True:
                c = BioClient(s.port, version, s.ca)
                state = {"more": False}

                def cut(flight, data, c=c, k=k, state=state):
                    if flight != flight_no or k >= len(data):
                        c.sock.sendall(data)
                        return
                    state["more"] = k + 1 < len(data)
                    c.sock.sendall(data[:k])
                    time.sleep(0.002)
                    c.sock.sendall(data[k:])
                try:
                    c.handshake(cut)
                    c.write(b"GET /nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    c.read_until(b"HTTP/1.1 ")
                finally:
                    c.close()
                done += 1
                if not state["more"]:
                    break
                k += 1
            h.require(done > 30, f"flight {flight_no}: only {done} splits tried")
            sys.stdout.write(f"# flight {flight_no}: {done} splits, every one handshaken\n")


# --------------------------------------------------------------------------
# resumption with a real client


TICKET_LINE = "Post-Handshake New Session Ticket arrived"


def resumption(flag, want):
    s = setup.get()
    gateway.get()
    sess = os.path.join(T.tmpdir(), "session.pem")
    req = "GET /nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    common = ["-servername", "localhost", "-CAfile", s.ca, "-verify_return_error", flag, "-ign_eof"]
    first = p.s_client(s.port, common + ["-sess_out", sess], stdin_data=req)
    out1 = first.stdout + first.stderr
    h.require(first.returncode == 0 and re.search(rf"^New, {want}, ", first.stdout, re.M),
              f"first s_client {flag}: exit {first.returncode}, no 'New, {want}':\n{out1[-2500:]}")
    h.require(os.path.getsize(sess) > 0, "s_client saved no session")
    # the gateway runs one worker per core, each accepting: every try may
    # land on another worker, and each must resume the ticket
    for i in range(RESUMES):
        second = p.s_client(s.port, common + ["-sess_in", sess], stdin_data=req)
        out2 = second.stdout + second.stderr
        h.require(second.returncode == 0 and re.search(rf"^Reused, {want}, ", second.stdout, re.M),
                  f"s_client {flag} -sess_in, try {i + 1}: exit {second.returncode}, "
                  f"no 'Reused, {want}':\n{out2[-2500:]}")
        h.require("HTTP/1.1 " in second.stdout, f"no HTTP answer over the resumed session:\n{out2[-1500:]}")
        if want == "TLSv1.3":
            h.check_equal(second.stdout.count(TICKET_LINE), 1, f"TLS 1.3 tickets on resumption {i + 1}")
    if want == "TLSv1.3":
        # one ticket per handshake, not GnuTLS's default two (issue 10)
        h.check_equal(first.stdout.count(TICKET_LINE), 1, "TLS 1.3 tickets after a full handshake")


@T.case(f"TLS 1.3 resumption: openssl s_client -sess_out, then {RESUMES} × -sess_in show 'Reused, TLSv1.3' "
        "(whichever worker accepts); each handshake, full or resumed, gets one ticket")
def _():
    resumption("-tls1_3", "TLSv1.3")


@T.case(f"TLS 1.2 resumption (session ticket): openssl s_client -sess_out, then {RESUMES} × -sess_in show "
        "'Reused, TLSv1.2' (whichever worker accepts)")
def _():
    resumption("-tls1_2", "TLSv1.2")


# --------------------------------------------------------------------------
# resumption and client certificates: one ticket key serves every listener
# of a config, so a session resumed where client certificates are required
# must still show one that today's truststore trusts


class Mtls:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.client = self.pki.client("Postern Resumed Client")
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.open_port, self.req_port = h.free_ports(2)
        self.urls = [f"wss://localhost:{self.open_port}/echo", f"wss://localhost:{self.req_port}/echo"]
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("open", "echo", [self.urls[0]]),
            h.service_xml("mtls", "echo", [self.urls[1]], accept_options={"ssl.verify-client": "required"}),
        ], self.keystore.relative_to(self.dir), os.path.relpath(self.truststore, self.dir)))
        self.gw = h.start_gateway(self.config, self.urls, name="postern run (resumption, mutual TLS)",
                                  extra_args=("--workers", "2"))
        T.add_cleanup(self.gw.kill)


mtls = h.Fixture("postern run with an open and a client-certificate listener", Mtls)

REQ = "GET /nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def s_client_session(port, m, flag, extra, sess, direction):
    return p.s_client(port, ["-servername", "localhost", "-CAfile", m.pki.ca.cert, flag, "-ign_eof",
                             direction, sess] + list(extra), stdin_data=REQ)


for flag, want in (("-tls1_3", "TLSv1.3"), ("-tls1_2", "TLSv1.2")):
    @T.case(f"{want}: a session made on a listener without client certificates, resumed on one that "
            "requires them, gets no HTTP answer and is logged as having no client certificate")
    def _(flag=flag, want=want):
        m = mtls.get()
        sess = os.path.join(T.tmpdir(), "open.pem")
        first = s_client_session(m.open_port, m, flag, [], sess, "-sess_out")
        h.require(re.search(rf"^New, {want}, ", first.stdout, re.M) and os.path.getsize(sess) > 0,
                  f"no session from the open listener:\n{(first.stdout + first.stderr)[-2000:]}")
        before = len(p.stderr_lines(m.gw, lambda l: "no client certificate" in l))
        second = s_client_session(m.req_port, m, flag, [], sess, "-sess_in")
        h.require("HTTP/1.1 " not in second.stdout,
                  f"the listener that requires client certificates answered HTTP over a session "
                  f"resumed without one:\n{second.stdout[-2000:]}")
        deadline = time.monotonic() + 10
        while len(p.stderr_lines(m.gw, lambda l: "no client certificate" in l)) <= before:
            h.require(time.monotonic() < deadline, "no 'no client certificate' line for the resumed session")
            time.sleep(0.1)

    @T.case(f"{want}: a session with a trusted client certificate resumes on the listener that requires "
            "one, and the open and close lines of the resumed sessions still name the certificate's subject")
    def _(flag=flag, want=want):
        m = mtls.get()
        version = ssl.TLSVersion.TLSv1_3 if want == "TLSv1.3" else ssl.TLSVersion.TLSv1_2
        first = BioClient(m.req_port, version, m.pki.ca.cert, cert=m.client)
        try:
            first.handshake(lambda f, d: first.sock.sendall(d))
            echo_over(first)          # (TLS 1.3: the tickets come with the first reads)
            session = first.tls.session
        finally:
            first.close()
        h.require(session is not None and session.has_ticket, "no session ticket from the gateway")
        ports = []
        for i in range(4):
            c = BioClient(m.req_port, version, None, session=session, ctx=first.ctx)
            try:
                c.handshake(lambda f, d, c=c: c.sock.sendall(d))
                h.require(c.tls.session_reused, f"resumption {i + 1}: the session was not reused")
                echo_over(c)
                ports.append(c.sock.getsockname()[1])
            finally:
                c.close()
        for port in ports:
            line = p.wait_log(m.gw, lambda l: "close mtls " in l and f"client=127.0.0.1:{port} " in l, 10,
                              f"closing the resumed session of 127.0.0.1:{port}")
            h.require("client-cert=" in line and "Postern Resumed Client" in line,
                      f"the close line of a resumed session does not name the client certificate: {line}")


# --------------------------------------------------------------------------
# a client stalled mid-handshake


def wait_dropped(sock, t0):
    """Read (and drop) until the gateway closes; seconds since t0, or None
    if still open at t0 + DEADLINE_WAIT."""
    while True:
        left = t0 + DEADLINE_WAIT - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            return None
        except OSError:
            return time.monotonic() - t0


@T.case("clients stalled mid-handshake (half a ClientHello; a whole one and then silence) are "
        f"dropped at the {DEADLINE:.0f} s deadline and logged, while other clients handshake and "
        "echo meanwhile")
def _():
    s = setup.get()
    gw = gateway.get()
    # a session open before, that must live through it all
    before = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
    before.handshake(lambda f, d: before.sock.sendall(d))
    echo_over(before)

    half = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
    whole = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
    t0 = time.monotonic()
    try:
        half.tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = half.pending()
    half.sock.sendall(hello[:len(hello) // 2])
    try:
        whole.tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    whole.sock.sendall(whole.pending())
    # (whole reads the server's flight but never answers it)
    results = {}

    def watch(name, c):
        results[name] = wait_dropped(c.sock, t0)
    threads = [threading.Thread(target=watch, args=(n, c)) for n, c in (("half", half), ("whole", whole))]
    for t in threads:
        t.start()
    others = 0
    while time.monotonic() < t0 + DEADLINE - 1:
        c = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
        try:
            c.handshake(lambda f, d, c=c: c.sock.sendall(d), timeout=5)
            echo_over(c)
            others += 1
        finally:
            c.close()
        time.sleep(0.2)
    for t in threads:
        t.join(DEADLINE_WAIT + 2)
    half.close()
    whole.close()
    for name in ("half", "whole"):
        took = results.get(name)
        h.require(took is not None, f"the client that sent {name} a ClientHello was not dropped within "
                                    f"{DEADLINE_WAIT} s")
        h.require(DEADLINE - 1 <= took <= DEADLINE + 4,
                  f"the {name}-ClientHello client was dropped after {took:.1f} s, not at the {DEADLINE} s deadline")
    h.require(others >= 10, f"only {others} other clients handshook and echoed meanwhile")
    # the session from before still echoes
    before.write(p.mask_frame(0x1, b"still here"))
    before.read_until(b"still here")
    before.close()
    # The lines come through the thread that reads the gateway's stderr,
    # which may lag behind the drops on a loaded machine: wait for them.
    lines = []
    until = time.monotonic() + 10
    while time.monotonic() < until:
        lines = p.stderr_lines(gw, lambda l: "no TLS handshake and request within 10 s" in l)
        if len(lines) >= 2:
            break
        time.sleep(0.1)
    h.require(len(lines) >= 2, "the gateway did not log both stalled clients "
                               f"('no TLS handshake and request within 10 s'): {lines}")
    sys.stdout.write(f"# dropped after {results['half']:.1f} s and {results['whole']:.1f} s; "
                     f"{others} other clients echoed meanwhile\n")


# --------------------------------------------------------------------------
# read-ahead: one recv () brings several records, not two per record


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1].isidentifier() and parts[3].isdigit():
                counts[parts[-1]] = int(parts[3])
    return counts


@T.case("an 8 MiB WebSocket echo over wss: the gateway's workers read the client's TLS records "
        "with less than one recv() per record (strace)")
def _():
    s = setup.get()
    gw = gateway.get()
    strace = h.require_tool("strace")
    with open(f"/proc/{gw.proc.pid}/task/{gw.proc.pid}/children") as f:
        workers = f.read().split()
    c = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
    out = os.path.join(T.tmpdir(), "strace.txt")
    tracer = None
    try:
        c.handshake(lambda f, d: c.sock.sendall(d))
        echo_over(c)
        argv = [strace, "-f", "-qq", "-c", "-e", "trace=recvfrom,recvmsg,read", "-o", out]
        for w in workers:
            argv += ["-p", w]
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)     # attached
        # (the echo service's default message limit is 64 KiB)
        payload = os.urandom(60 * 1024)
        frame = p.mask_frame(0x2, payload)
        total = records = 0
        while total < 8 << 20:
            c.write(frame)             # one record per 16 KiB of it
            records += -(-len(frame) // 16384)
            got = c.read_until(payload[-64:], timeout=20)
            total += len(payload)
            h.require(len(got) >= len(payload), f"short echo: {len(got)} bytes")
    finally:
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=10)
        c.close()
    counts = strace_counts(out)
    recvs = counts.get("recvfrom", 0) + counts.get("recvmsg", 0) + counts.get("read", 0)
    sys.stdout.write(f"# {total >> 20} MiB from the client = {records} TLS records; the workers made "
                     f"{counts}\n")
    h.require(counts, f"strace counted nothing: {open(out).read()[-1500:]}")
    # (GnuTLS alone: two per record, its header and its body, and one more
    # that says EAGAIN per wake-up)
    h.require(recvs < records, f"{recvs} reads for {records} records: not read ahead")


# --------------------------------------------------------------------------
# threads


def thread_names(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return names


@T.case("50 wss sessions (handshake, echo, close): the gateway starts no thread of GIO's pool")
def _():
    s = setup.get()
    gw = gateway.get()
    for _ in range(50):
        c = BioClient(s.port, ssl.TLSVersion.TLSv1_3, s.ca)
        try:
            c.handshake(lambda f, d, c=c: c.sock.sendall(d))
            echo_over(c)
        finally:
            c.close()
    time.sleep(0.5)
    with open(f"/proc/{gw.proc.pid}/task/{gw.proc.pid}/children") as f:
        workers = [int(x) for x in f.read().split()]
    h.check_equal(len(workers), 2, "worker processes")
    for pid in workers:
        names = thread_names(pid)
        pool = [n for n in names if n.startswith("pool")]
        h.require(not pool, f"GIO pool threads in worker {pid}: {names}")
        sys.stdout.write(f"# worker {pid} threads: {sorted(names)}\n")


@T.case("the gateways logged no warning or critical, and stop cleanly (exit 0) on SIGTERM")
def _():
    bad = []
    for gw in (gateway.get(), mtls.get().gw):
        bad += p.stderr_lines(gw, lambda l: " critical: " in l or " warning: " in l)
        gw.stop()
    h.require(not bad, "warnings or criticals in the gateway's log:\n" + "\n".join(bad[:10]))


if __name__ == "__main__":
    T.run()
