#!/usr/bin/python3
# test_wakeups.py: issue 10 -- a worker waits in its poller's own
# epoll_wait(): a round trip of 64 bytes costs each hop one wake-up, one
# recv() and one send(), without GLib's poll() on top (strace -c on the
# workers).  Real peers: a Python TCP / TLS echo back-end and a raw
# WebSocket client over TCP and TLS 1.3.  POSTERN_POLLER_WAIT=glib brings
# GLib's poll() back: the same count there shows what the test measures.
# SPDX-License-Identifier: Apache-2.0
import os
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
ROUNDS = 2000
# per round trip: 2 epoll_wait + 2 recv + 2 send; a little for the
# connection's set-up and the timers around it
MAX_PER_ROUND_TRIP = 6.3


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        ks = p.tls_material(self, self.dir)
        self.echo = p.Server("tcp echo", p.echo_handler)
        T.add_cleanup(self.echo.close)
        self.tls_echo = p.Server("tls echo", p.echo_handler, ssl_ctx=p.server_ssl_context(self.leaf))
        T.add_cleanup(self.tls_echo.close)
        self.ws_port, self.wss_port = h.free_ports(2)
        self.urls = [f"ws://localhost:{self.ws_port}/rt", f"wss://localhost:{self.wss_port}/rt"]
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("plain", "proxy", [self.urls[0]], [f"tcp://127.0.0.1:{self.echo.port}"]),
            h.service_xml("secure", "proxy", [self.urls[1]], [f"ssl://localhost:{self.tls_echo.port}"]),
        ], ks, os.path.relpath(self.truststore, self.dir)))


setup = h.Fixture("PKI, TCP and TLS echo back-ends, gateway configuration", Setup)


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[-1].isidentifier() and parts[3].isdigit() and parts[-1] != "total":
                counts[parts[-1]] = int(parts[3])
    return counts


def workers_of(gw):
    with open(f"/proc/{gw.proc.pid}/task/{gw.proc.pid}/children") as f:
        return f.read().split()


def open_client(s, secure):
    sock = p.connected_socket(s.wss_port if secure else s.ws_port)
    if secure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(s.pki.ca.cert)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        sock = ctx.wrap_socket(sock, server_hostname="localhost")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return p.RawWs.open(sock, "localhost", "/rt")


def round_trip(c, payload):
    c.send(0x2, payload)
    deadline = time.monotonic() + 10
    while True:
        for _fin, _opcode, data in c.take_frames():
            h.check_equal(data, payload, "echoed message")
            return
        if time.monotonic() > deadline:
            raise h.Fail("no echo within 10 s")
        if c.feed_from_socket(65536) == 0:
            raise h.Fail("the gateway closed the connection")


def measure(secure, env=None):
    """System calls of all the workers per round trip, over ROUNDS."""
    s = setup.get()
    strace = h.require_tool("strace")
    gw = h.Gateway(s.config, name="postern run (wake-ups)", extra_args=("--workers", "2"), env=env).start()
    T.add_cleanup(gw.kill)
    tracer = None
    out = os.path.join(T.tmpdir(), "strace.txt")
    try:
        gw.wait_listening(len(s.urls), 30)
        c = open_client(s, secure)
        payload = os.urandom(64)
        for _ in range(50):
            round_trip(c, payload)
        argv = [strace, "-f", "-qq", "-c", "-o", out]
        for w in workers_of(gw):
            argv += ["-p", w]
        tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)   # attached
        for _ in range(ROUNDS):
            round_trip(c, payload)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=10)
        tracer = None
        c.close()
    finally:
        if tracer is not None:
            tracer.kill()
        gw.kill()
    counts = strace_counts(out)
    h.require(counts, f"strace counted nothing: {open(out).read()[-1500:]}")
    return counts, sum(counts.values()) / ROUNDS


def case(secure):
    counts, per = measure(secure)
    sys.stdout.write(f"# {ROUNDS} round trips of 64 B: {per:.2f} system calls each in the workers: {counts}\n")
    h.require(counts.get("poll", 0) + counts.get("ppoll", 0) < ROUNDS / 100,
              f"the workers still poll(): {counts}")
    h.require(counts.get("epoll_wait", 0) <= 2 * ROUNDS + 50,
              f"more than one epoll_wait per hop: {counts}")
    h.require(per <= MAX_PER_ROUND_TRIP, f"{per:.2f} system calls per round trip (at most {MAX_PER_ROUND_TRIP})")


@T.case(f"ws -> tcp: {ROUNDS} round trips of 64 B cost the workers at most {MAX_PER_ROUND_TRIP} system calls "
        "each (one epoll_wait, one recv, one send per hop; no poll)")
def _():
    case(False)


@T.case(f"wss -> ssl (TLS 1.3 both hops): {ROUNDS} round trips of 64 B cost the workers at most "
        f"{MAX_PER_ROUND_TRIP} system calls each, no poll")
def _():
    case(True)


@T.case("POSTERN_POLLER_WAIT=glib: the workers wait in GLib's poll() again, one per wake-up "
        "(what the cases above count is the wait)")
def _():
    counts, per = measure(False, env={"POSTERN_POLLER_WAIT": "glib"})
    sys.stdout.write(f"# with GLib's poll(): {per:.2f} system calls per round trip: {counts}\n")
    h.require(counts.get("poll", 0) >= 2 * ROUNDS - 50, f"GLib's poll() not seen at each wake-up: {counts}")
    h.require(per > MAX_PER_ROUND_TRIP, f"{per:.2f} system calls per round trip with GLib's poll()")


if __name__ == "__main__":
    T.run()
