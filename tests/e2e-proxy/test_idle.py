#!/usr/bin/python3
# test_idle.py: issue 9 item 4 -- a tcp:// byte session with no traffic
# either way is closed after its inactivity timeout (ws.inactivity.timeout,
# default 600 s for byte sessions), while a session that keeps talking
# stays open.
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=60)

IDLE = 2.0   # seconds: ws.inactivity.timeout on the byte service


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.tcp_echo = p.Server("tcp-echo", p.echo_handler)
        T.add_cleanup(self.tcp_echo.close)
        (self.port,) = h.free_ports(1)
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("bytes", "proxy", [self.url], [f"tcp://127.0.0.1:{self.tcp_echo.port}"],
                          accept_options={"ws.inactivity.timeout": f"{int(IDLE)}s"}),
        ]))


setup = h.Fixture("tcp echo back-end and config", Setup)
gateway = h.Fixture("postern run", lambda: h.start_gateway(setup.get().config, [setup.get().url],
                                                          name="postern run (idle)"))


def echo(sock, data):
    sock.sendall(data)
    got = b""
    while len(got) < len(data):
        chunk = sock.recv(4096)
        h.require(chunk, "the session closed while talking")
        got += chunk
    h.check_equal(got, data, "echoed bytes")


@T.case(f"a quiet tcp session is closed between {IDLE:.0f} and {IDLE * 1.5 + 1:.1f} s after its last byte, "
        "a talking one stays open")
def _():
    s = setup.get()
    gw = gateway.get()
    quiet = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    busy = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    echo(quiet, b"hello")
    echo(busy, b"hello")
    t0 = time.monotonic()
    closed_at = None
    while time.monotonic() - t0 < IDLE * 3:
        echo(busy, b"tick")
        quiet.settimeout(0.3)
        try:
            if quiet.recv(1) == b"" and closed_at is None:
                closed_at = time.monotonic() - t0
        except socket.timeout:
            pass
        except OSError:
            if closed_at is None:
                closed_at = time.monotonic() - t0
    h.require(closed_at is not None, f"the quiet session was still open after {IDLE * 3:.0f} s")
    h.require(IDLE - 0.2 <= closed_at <= IDLE * 1.5 + 1,
              f"the quiet session closed after {closed_at:.2f} s (timeout {IDLE} s)")
    echo(busy, b"still here")
    h.require(gw.wait_stderr(lambda line: "no traffic for" in line, 5), "no log line for the idle close")
    quiet.close()
    busy.close()


if __name__ == "__main__":
    T.run()
