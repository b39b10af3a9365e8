#!/usr/bin/python3
# test_connections.py: the connection core against awkward and hostile
# clients — two connections with the same "ip:port" text, a listener
# dropped by a reload, the per-address connection cap, refused WebSocket
# upgrades that close at once, and log fields escaped.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=60)
CAP = 3
CAP_OPTION = "tcp.maximum.connections.per.address"


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-hardening-")
        self.any_port, self.cap_port, self.spare_port = h.free_ports(3)
        # 0.0.0.0: reached on 127.0.0.1 and 127.0.0.2 alike
        self.any_url = f"ws://localhost:{self.any_port}/echo"
        self.cap_url = f"ws://localhost:{self.cap_port}/echo"
        self.spare_url = f"ws://localhost:{self.spare_port}/echo"
        self.config = self.write("gateway-config.xml", with_spare=True)
        self.reloaded = self.write("reloaded.xml", with_spare=False)

    def services(self, with_spare):
        s = [h.service_xml("any", "echo", [self.any_url],
                           accept_options={"ws.bind": f"0.0.0.0:{self.any_port}"}),
             h.service_xml("capped", "echo", [self.cap_url],
                           accept_options={CAP_OPTION: str(CAP)})]
        if with_spare:
            s.append(h.service_xml("spare", "echo", [self.spare_url]))
        return s

    def write(self, name, with_spare):
        return h.write_config(self.dir, h.config_xml(self.services(with_spare)), name=name)


setup = h.Fixture("config: an echo on 0.0.0.0, one capped per address, a spare one", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, [s.any_url, s.cap_url, s.spare_url],
                           name="postern run (hardening)")


gateway = h.Fixture("postern run on the hardening config", start)


def bound_socket(src_ip, src_port=0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((src_ip, src_port))
    return sock


def stderr_lines(gw, pattern):
    with gw.cond:
        return [l for l in gw.stderr if re.search(pattern, l)]


def wait_for_lines(gw, pattern, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = stderr_lines(gw, pattern)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return stderr_lines(gw, pattern)


async def ws_on(sock, uri, **kw):
    """websockets over a socket that is already connected (our source address)."""
    return await h.ws_connect(uri, sock=sock, **kw)


# --------------------------------------------------------------------------
# One connection object per client, whatever its address text


@T.case("two clients with the same ip:port text (127.0.0.1:P → 127.0.0.1 and 127.0.0.2) both echo, "
        "and both are logged closed")
def same_peer_text():
    s, gw = setup.get(), gateway.get()
    first = bound_socket("127.0.0.1")
    port = first.getsockname()[1]
    second = bound_socket("127.0.0.1", port)
    # Both TCP connections exist before either handshake: the gateway has
    # two live connections with the text 127.0.0.1:port at once.
    first.connect(("127.0.0.1", s.any_port))
    second.connect(("127.0.0.2", s.any_port))
    peer = f"127.0.0.1:{port}"

    async def run():
        a = await ws_on(first, s.any_url)
        b = await ws_on(second, s.any_url.replace("localhost", "127.0.0.2"))
        for i in range(20):
            await h.echo_once(a, f"a{i}")
            await h.echo_once(b, f"b{i}")
        await h.close_cleanly(a)
        await h.close_cleanly(b)
    h.arun(run(), 20)
    lines = wait_for_lines(gw, rf"close any client={re.escape(peer)} .*code=1000", 2)
    h.require(len(lines) == 2, f"expected 2 close lines for {peer}, got {len(lines)}: {lines}")
    h.require(gw.running(), "the gateway died")


# --------------------------------------------------------------------------
# Per-address cap


def refused(sock, timeout=3.0):
    """True when the gateway closes the connection without a byte."""
    sock.settimeout(timeout)
    try:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        return sock.recv(100) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@T.case(f"{CAP_OPTION} {CAP}: the {CAP + 1}th connection from 127.0.0.1 is closed, 127.0.0.2 still "
        "gets in, 30 refusals make one log line, a freed slot is usable again")
def per_address_cap():
    s, gw = setup.get(), gateway.get()

    async def run():
        held = [await h.ws_connect(s.cap_url) for _ in range(CAP)]
        for i, c in enumerate(held):
            await h.echo_once(c, f"held {i}")
        outcomes = []
        for _ in range(30):
            sock = socket.create_connection(("127.0.0.1", s.cap_port), timeout=3)
            outcomes.append(await asyncio.get_running_loop().run_in_executor(None, refused, sock))
            sock.close()
        h.require(all(outcomes), f"{outcomes.count(False)} of 30 connections over the cap were served")
        other = bound_socket("127.0.0.2")
        other.connect(("127.0.0.1", s.cap_port))
        c = await ws_on(other, s.cap_url)
        await h.echo_once(c, "from 127.0.0.2")
        await h.close_cleanly(c)
        await h.close_cleanly(held.pop())
        await asyncio.sleep(0.2)
        again = await h.ws_connect(s.cap_url)
        await h.echo_once(again, "slot given back")
        await h.close_cleanly(again)
        for c in held:
            await h.close_cleanly(c)
    h.arun(run(), 40)
    lines = stderr_lines(gw, CAP_OPTION)
    h.require(1 <= len(lines) <= 2,
              f"expected one rate-limited refusal line (two if the refusals spanned a second), got "
              f"{len(lines)}: {lines[:3]}")
    h.require("127.0.0.1" in lines[0], f"the refusal line names no address: {lines[0]}")


@T.case(f"postern check: {CAP_OPTION} must be a whole number ≥ 1 (file:line named)")
def cap_validated():
    s = setup.get()
    for bad in ("lots", "0", "-5"):
        text = h.config_xml([h.service_xml("e", "echo", ["ws://localhost:8000/echo"],
                                           accept_options={CAP_OPTION: bad})])
        path = h.write_config(s.dir, text, name=f"bad-cap-{len(bad)}.xml")
        res = h.run_postern(["check", "--config", path])
        out = res.stdout + res.stderr
        h.require(res.returncode == 1, f"{bad!r}: check exited {res.returncode}: {out}")
        h.require(re.search(rf"{re.escape(path)}:\d+:\d+: error: .*{CAP_OPTION}", out),
                  f"{bad!r}: no FILE:LINE:COL error naming {CAP_OPTION}: {out}")


# --------------------------------------------------------------------------
# Refused upgrades close


@T.case("python3-websockets gets the 403 for a foreign Origin in under 1 s")
def forbidden_origin_fast():
    s = setup.get()
    gateway.get()
    ws = h.import_websockets()

    async def run():
        t0 = time.monotonic()
        try:
            c = await h.ws_connect(s.any_url, origin="https://evil.example")
            await c.close()
            raise h.Fail("the upgrade from a foreign origin was accepted")
        except ws.exceptions.InvalidStatusCode as e:
            h.check_equal(e.status_code, 403, "status")
        return time.monotonic() - t0
    took = h.arun(run(), 15)
    h.require(took < 1.0, f"the 403 took {took:.2f} s (the connection was kept alive)")


def raw_exchange(port, request, timeout=3.0):
    """Send request; read until the gateway closes. (bytes, seconds, closed)"""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    sock.sendall(request)
    data = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        pass
    finally:
        sock.close()
    return data, time.monotonic() - t0, closed


@T.case("404 (no such path) and 400 (no Sec-WebSocket-Key) to an upgrade carry Connection: close "
        "and the connection is closed at once")
def refused_upgrades_close():
    s = setup.get()
    gateway.get()
    for path, key, status in (("/nowhere", True, 404), ("/echo", False, 400)):
        req = (f"GET {path} HTTP/1.1\r\nHost: localhost:{s.any_port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
        if key:
            req += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        data, took, closed = raw_exchange(s.any_port, (req + "\r\n").encode())
        head = data.split(b"\r\n\r\n")[0].decode("latin-1")
        h.require(head.startswith(f"HTTP/1.1 {status}"), f"{path}: answer {head!r}")
        h.require(re.search(r"(?im)^connection:\s*close", head), f"{path}: no Connection: close in {head!r}")
        h.require(closed and took < 1.0, f"{path}: closed={closed} after {took:.2f} s")


@T.case("the second request on a kept-alive connection has its head capped too (431 for a 40 KiB head)")
def second_head_capped():
    s = setup.get()
    gateway.get()
    sock = socket.create_connection(("127.0.0.1", s.any_port), timeout=5)
    try:
        sock.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = b""
        while not first.endswith(b"client.\n"):   # head and body may come apart
            chunk = sock.recv(4096)
            h.require(chunk, f"closed after {first[:60]!r}")
            first += chunk
        h.require(first.startswith(b"HTTP/1.1 400"), f"first answer {first[:40]!r}")
        big = b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + b"X-Big: " + b"y" * 40960 + b"\r\n\r\n"
        try:
            sock.sendall(big)
        except (ConnectionResetError, BrokenPipeError):
            pass
        data = b""
        with contextlib.suppress(ConnectionResetError, socket.timeout):
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        h.require(data.startswith(b"HTTP/1.1 431"), f"second answer {data[:60]!r}")
    finally:
        sock.close()


# --------------------------------------------------------------------------
# Log fields escaped


@T.case("a close reason with a newline and quotes, and an Origin with quotes, cannot forge log lines")
def escaped_fields():
    s, gw = setup.get(), gateway.get()
    forged = 'bye\nclose any client=6.6.6.6:1 backend=- in=0 out=0 duration=0.000s code=1000 reason="x"'

    async def run():
        c = await h.ws_connect(s.any_url)
        await h.echo_once(c, "hello")
        await asyncio.wait_for(c.close(1000, forged), 5)
    h.arun(run(), 15)
    line = gw.wait_stderr(lambda l: "bye\\x0Aclose any" in l, 5)
    h.require(line is not None, "no close line with the reason escaped (bye\\x0A…)")
    h.require('reason=\\"x\\"' in line, f"quotes in the reason are not escaped: {line}")
    h.require(not stderr_lines(gw, r"^close any client=6\.6\.6\.6"), "a forged line reached the log")
    h.require(not any(l.startswith("close ") for l in stderr_lines(gw, "6.6.6.6")),
              "a forged line reached the log")
    req = (f"GET /echo HTTP/1.1\r\nHost: localhost:{s.any_port}\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           'Origin: http://evil.example/" forged="1\x01\r\n\r\n')
    raw_exchange(s.any_port, req.encode("latin-1"))
    line = gw.wait_stderr(lambda l: "evil.example/" in l, 5)
    h.require(line is not None, "the refused origin is not logged")
    h.require('\\" forged=\\"1\\x01' in line, f"the Origin is not escaped: {line}")


# --------------------------------------------------------------------------
# Counts survive a reload that drops a listener


@T.case("a reload drops a listener: its connection goes on, and when it ends the counts go back to 0 "
        "(SIGTERM says 0 connection(s) open)")
def reload_drops_listener():
    s, gw = setup.get(), gateway.get()

    async def run():
        c = await h.ws_connect(s.spare_url)
        await h.echo_once(c, "before reload")
        os.replace(s.reloaded, s.config)
        gw.signal(signal.SIGHUP)
        line = gw.wait_stderr(lambda l: "reload" in l.lower(), 10)
        h.require(line is not None, "no reload line after SIGHUP")
        await h.echo_once(c, "after reload")
        await h.close_cleanly(c)
        # Slots per address are counted gateway-wide: had the dropped
        # listener's slot leaked, the third of these would be refused.
        held = [await h.ws_connect(s.cap_url) for _ in range(CAP)]
        for i, x in enumerate(held):
            await h.echo_once(x, f"after {i}")
        for x in held:
            await h.close_cleanly(x)
    h.arun(run(), 30)
    time.sleep(0.3)
    h.require(not h.nobody_accepts(s.any_port), "the kept listener is gone")
    h.require(h.nobody_accepts(s.spare_port), "the dropped listener still accepts")
    # the probe of the kept listener is a connection too: let the gateway
    # see it end before counting (slower under ASan)
    time.sleep(2.0 if os.environ.get("POSTERN_SANITIZED") == "1" else 0.5)
    gw.stop()
    line = gw.wait_stderr(lambda l: "stopping:" in l, 2)
    h.require(line is not None and "stopping: 0 connection(s) open" in line,
              f"after every client closed, the gateway still counts connections: {line}")


T.run()
