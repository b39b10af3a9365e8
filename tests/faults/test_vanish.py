#!/usr/bin/python3
# test_vanish.py: issue 11 item 8 (d) — 1,000 clients that vanish without a
# close: half reset their connection (SO_LINGER 0: a RST, no FIN, no close
# frame), half just stop (the socket stays open and unread; half of those
# stop in the middle of a frame).  Half of the clients are on an echo
# service, half on a ws → tcp proxy (so a back-end connection each).  The
# gateway's descriptor count (/proc/PID/fd) must come back to where it
# started, within the inactivity timeout's bound, and its RSS near its start.
# SPDX-License-Identifier: Apache-2.0
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as f  # noqa: E402
from faultlib import h, p, KiB, MiB  # noqa: E402

T = h.Tap(case_timeout=90)

CLIENTS = 1000
IDLE = 4                  # ws.inactivity.timeout (s)
# a silent client is pinged once it has been quiet IDLE s (checked every
# IDLE s), given up at the next check, then the close handshake waits up to
# 3 s (CLOSE_WAIT_MS): at most 3 × IDLE + 3 s
FD_BOUND = 3 * IDLE + 3 + 5.0
RSS_WAIT = 5.0
WARMUP = 50
# What RSS may keep after 1,000 sessions came and went.  The gateway gives
# freed heap back (malloc_trim, PstGateway in pst-gateway.c) a moment after a burst
# of closes; what stays is GLib 2.74's GSlice magazines (GObjects are slice
# allocated) and pages pinned by live blocks.  Measured: +10 MiB after the
# first 1,000 and the same after each of 7 more rounds (no growth: not a
# leak); without the trim it stayed at the peak, +33 MiB.
RSS_SLACK_KIB = 12 * 1024


class Setup:
    def __init__(self):
        self.nofile = f.raise_nofile()
        h.require(self.nofile >= 2 * CLIENTS + 100,
                  f"this test needs {2 * CLIENTS + 100} descriptors; RLIMIT_NOFILE is {self.nofile}")
        self.dir = T.tmpdir("postern-faults-")
        self.backend = f.Backend("echo", name="tcp-echo")
        T.add_cleanup(self.backend.kill)
        self.port = h.free_port()
        opts = {"ws.inactivity.timeout": f"{IDLE}s",
                "tcp.maximum.connections.per.address": str(4 * CLIENTS)}
        self.paths = {"echo": "/echo", "proxy": "/proxy"}
        text = h.config_xml([
            h.service_xml("echo", "echo", [f"ws://localhost:{self.port}/echo"],
                          accept_options=opts),
            h.service_xml("proxy", "proxy", [f"ws://localhost:{self.port}/proxy"],
                          [f"tcp://127.0.0.1:{self.backend.port}"], accept_options=opts),
        ])
        self.config = h.write_config(self.dir, text)
        self.gw = h.start_gateway(self.config, [f"ws://localhost:{self.port}/echo",
                                                f"ws://localhost:{self.port}/proxy"],
                                  name="postern run (vanishing clients)",
                                  # one process: its descriptors are counted in /proc/PID/fd
                                  extra_args=["--workers", "1"])
        self.pid = self.gw.proc.pid
        # Warm-up: what the first sessions allocate once (TLS-free here, but
        # GLib's worker thread, the back-end resolver, buffers) is not a leak.
        for i in range(WARMUP):
            s, c = f.raw_ws_open(self.port, self.paths["proxy" if i % 2 else "echo"])
            f.raw_ws_echo(c, os.urandom(1000))
            c.close()
            s.close()
        h.require(f.wait_until(lambda: self.gw.running() and
                               f.count_lines(self.gw, "close ") >= WARMUP, 10),
                  "the warm-up sessions were not all logged closed within 10 s")
        time.sleep(0.5)
        self.fd_start = f.fd_count(self.pid)
        self.rss_start = f.rss_kib(self.pid)
        self.run()

    def run(self):
        self.kept = []            # the sockets that "just stop"
        self.reset = 0
        opened = []
        t0 = time.monotonic()
        touched = t0
        for i in range(CLIENTS):
            path = self.paths["proxy" if i % 2 else "echo"]
            s, c = f.raw_ws_open(self.port, path)
            f.raw_ws_echo(c, os.urandom(64 + i % 2000))
            opened.append(s)
            if time.monotonic() - touched > 1.5:
                # a ping from every open client: none idles out before it vanishes
                for o in opened:
                    o.sendall(p.mask_frame(0x9, b"alive"))
                touched = time.monotonic()
        self.opened_in = time.monotonic() - t0
        self.fd_peak = f.fd_count(self.pid)
        self.rss_peak = f.rss_kib(self.pid)
        # all vanish at once
        for i, s in enumerate(opened):
            kind = (i // 2) % 4
            if kind in (0, 1):
                f.abort(s)                      # RST, no close frame
                self.reset += 1
            elif kind == 2:
                self.kept.append(s)             # stops between messages
            else:
                frame = p.mask_frame(0x2, os.urandom(4000))
                s.sendall(frame[:len(frame) // 2])   # stops in the middle of a frame
                self.kept.append(s)
        T.add_cleanup(lambda: [s.close() for s in self.kept])
        t1 = time.monotonic()
        self.back = f.wait_until(lambda: f.fd_count(self.pid) <= self.fd_start, FD_BOUND, 0.2)
        self.fd_end = f.fd_count(self.pid)
        self.took = time.monotonic() - t1
        # the gateway hands freed heap back to the system shortly after a
        # burst of closes (malloc_trim, see pst-gateway.c)
        f.wait_until(lambda: f.rss_kib(self.pid) <= self.rss_start + RSS_SLACK_KIB, RSS_WAIT, 0.2)
        self.rss_end = f.rss_kib(self.pid)
        for s in self.kept:
            s.close()


setup = h.Fixture(f"gateway, a TCP echo back-end and {CLIENTS} clients that vanish", Setup)


@T.case(f"{CLIENTS} clients open (echo + ws → tcp proxy), each gets one echo, then half "
        "reset (SO_LINGER 0) and half just stop", timeout=85)
def _():
    s = setup.get()
    h.check_equal(s.reset, CLIENTS // 2, "clients that reset")
    h.check_equal(len(s.kept), CLIENTS // 2, "clients that just stopped")
    sys.stdout.write(f"# {CLIENTS} sessions opened in {s.opened_in:.1f} s; gateway fds "
                     f"{s.fd_start} at start, {s.fd_peak} at the peak\n")
    # a proxy session holds two descriptors, an echo session one
    h.require(s.fd_peak >= s.fd_start + CLIENTS * 3 // 2,
              f"the gateway held only {s.fd_peak - s.fd_start} more descriptors at the peak: "
              "were the sessions really open?")


@T.case(f"the gateway's descriptor count returns to its start within {FD_BOUND:.0f} s "
        f"(ws.inactivity.timeout {IDLE} s)")
def _():
    s = setup.get()
    sys.stdout.write(f"# fds: start {s.fd_start}, peak {s.fd_peak}, end {s.fd_end} "
                     f"after {s.took:.1f} s\n")
    h.require(s.back, f"{s.fd_end} descriptors {FD_BOUND} s later, {s.fd_start} at start; "
                      f"open: {sorted(os.readlink(f'/proc/{s.pid}/fd/{n}') for n in os.listdir(f'/proc/{s.pid}/fd'))[:40]}")


@T.case("every vanished session is logged closed (1006 for the resets, 1001 'inactivity "
        "timeout' for the silent ones)")
def _():
    s = setup.get()
    want = WARMUP + CLIENTS
    h.require(f.wait_until(lambda: f.count_lines(s.gw, "info: close ") >= want, 10),
              f"{f.count_lines(s.gw, 'info: close ')} close lines, expected {want}")
    resets = f.count_lines(s.gw, "code=1006 ")
    h.require(resets >= CLIENTS // 2,
              f"only {resets} sessions closed with 1006; {CLIENTS // 2} clients reset theirs")
    idle = f.count_lines(s.gw, 'reason="inactivity timeout"')
    h.require(idle >= CLIENTS // 2,
              f"only {idle} sessions closed for inactivity; {CLIENTS // 2} clients just stopped")


@T.case("the back-end's connections of the vanished proxy sessions were all closed")
def _():
    s = setup.get()
    want = WARMUP // 2 + CLIENTS // 2
    h.require(f.wait_until(lambda: len(s.backend.closed()) >= want, 10),
              f"the back-end saw {len(s.backend.closed())} of {want} connections end")


@T.case(f"the gateway's RSS is back near its start (within {RSS_SLACK_KIB // 1024} MiB, "
        f"{RSS_WAIT:.0f} s after the descriptors)")
def _():
    s = setup.get()
    sys.stdout.write(f"# RSS KiB: start {s.rss_start}, peak {s.rss_peak}, end {s.rss_end}\n")
    if os.environ.get("POSTERN_SANITIZED") == "1":
        # ASan keeps freed blocks in its quarantine and malloc_trim cannot
        # hand them back: the bound is for the real build (make check).
        sys.stdout.write("# sanitized build: the RSS bound is not applied\n")
    else:
        h.require(s.rss_end <= s.rss_start + RSS_SLACK_KIB,
                  f"RSS {s.rss_end} KiB at the end, {s.rss_start} KiB at the start")


@T.case("the gateway still serves new clients afterwards, and stops with exit 0")
def _():
    s = setup.get()
    for path in s.paths.values():
        sock, c = f.raw_ws_open(s.port, path)
        f.raw_ws_echo(c, os.urandom(70000))
        c.close()
        sock.close()
    s.gw.stop()


T.run()
