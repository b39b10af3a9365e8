#!/usr/bin/python3
# test_limits.py: issue 4 items 7, 8 and 9 — cross-site-constraint (Origin)
# on upgrades, backpressure (a slow wss client must not make the gateway's
# memory grow with what a fast tcp back-end sends, and every byte still
# arrives in order), and the handshake deadline on a proxy's wss port while
# another client's session keeps working.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import ssl
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h, MiB, KiB  # noqa: E402

T = h.Tap(case_timeout=90)

FLOOD_TOTAL = 200 * MiB
FLOOD_SIZES = [64 * KiB, 1000, 200 * KiB, 17]   # the back-end's send() sizes, cycled
SLOW_RATE = 64 * KiB       # bytes per second the client reads in the slow window
SLOW_SECONDS = 15.0
RSS_MARGIN_KIB = 32 * 1024
# Under ASan (make check-asan) every freed block waits in a 16 MiB
# quarantine, small blocks carry redzones and the shadow costs 1/8: the
# bound grows by what that adds, and the test says so.  The plain build
# (make check) is held to the real bound.
if os.environ.get("POSTERN_SANITIZED") == "1":
    RSS_MARGIN_KIB += 96 * 1024
    sys.stdout.write("# sanitized build: RSS margin raised by 96 MiB for ASan's quarantine, "
                     "redzones and shadow\n")
DEADLINE = 10.0
DEADLINE_MIN = DEADLINE - 1.0
DEADLINE_WAIT = 15.0


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.ks = self.keystore.relative_to(self.dir)
        self.tcp_echo = p.Server("tcp-echo", p.echo_handler)
        T.add_cleanup(self.tcp_echo.close)
        self.wss_port, self.ws_port = h.free_ports(2)
        W = f"wss://localhost:{self.wss_port}"
        self.urls = {
            "default": [f"{W}/echo", f"ws://localhost:{self.ws_port}/echo"],
            "any": [f"{W}/any"],
            "listed": [f"{W}/listed"],
            "relay": [f"{W}/relay"],
        }
        xsc = ("    <cross-site-constraint>\n      <allow-origin>{}</allow-origin>\n"
               "    </cross-site-constraint>\n")
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("default", "echo", self.urls["default"]),
            h.service_xml("any", "echo", self.urls["any"], extra=xsc.format("*")),
            h.service_xml("listed", "echo", self.urls["listed"],
                          extra=xsc.format("https://app.example")),
            h.service_xml("relay", "proxy", self.urls["relay"],
                          [f"tcp://127.0.0.1:{self.tcp_echo.port}"]),
        ], keystore=self.ks))

    def ctx(self):
        return self.keystore.client_context()


setup = h.Fixture("PKI, tcp echo back-end and config (echo services with and without "
                  "cross-site-constraint, a wss → tcp proxy)", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, [u for us in s.urls.values() for u in us],
                           name="postern run (origin, deadline)")


gateway = h.Fixture("postern run on the origin/deadline config", start)


# --------------------------------------------------------------------------
# Origin


def upgrade(uri, origin):
    """Open a WebSocket with this Origin (None: no Origin header), echo one
    message, close.  Returns None when it worked, the HTTP status when the
    upgrade was refused."""
    s = setup.get()
    gateway.get()
    ws = h.import_websockets()

    async def go():
        async with h.ws_connect(uri, s.ctx(), origin=origin) as c:
            await h.echo_once(c, f"from {origin}")
            await h.close_cleanly(c)

    try:
        h.arun(go(), 30)
        return None
    except ws.exceptions.InvalidStatusCode as e:
        return e.status_code


def allowed(uri, origin):
    status = upgrade(uri, origin)
    h.require(status is None, f"upgrade to {uri} with Origin {origin!r} was refused with "
                              f"HTTP {status}; it must be allowed")


def refused(uri, origin):
    status = upgrade(uri, origin)
    h.require(status == 403, f"upgrade to {uri} with Origin {origin!r}: expected HTTP 403, "
                             f"got {'a WebSocket session' if status is None else status}")
    p.wait_log(gateway.get(), lambda l: origin in l and "origin" in l.lower(), 5,
               f"naming the refused origin {origin}")


@T.case("Origin equal to the wss accept's own origin (https://localhost:PORT) is allowed")
def _():
    s = setup.get()
    allowed(s.urls["default"][0], f"https://localhost:{s.wss_port}")


@T.case("Origin equal to the ws accept's own origin (http://localhost:PORT) is allowed")
def _():
    s = setup.get()
    allowed(s.urls["default"][1], f"http://localhost:{s.ws_port}")


@T.case("without cross-site-constraint, another origin gets HTTP 403 and a log line: "
        "another host, another port, http:// for a wss:// accept")
def _():
    s = setup.get()
    other_port = s.ws_port
    for origin in ("https://evil.example", f"https://localhost:{other_port}",
                   f"http://localhost:{s.wss_port}"):
        refused(s.urls["default"][0], origin)


@T.case("no Origin header (a non-browser client) is allowed")
def _():
    s = setup.get()
    allowed(s.urls["default"][0], None)
    allowed(s.urls["default"][1], None)


@T.case("cross-site-constraint allow-origin *: any origin passes")
def _():
    s = setup.get()
    for origin in ("https://evil.example", "http://127.0.0.1:1", f"https://localhost:{s.wss_port}"):
        allowed(s.urls["any"][0], origin)
    allowed(s.urls["any"][0], None)


@T.case("cross-site-constraint allow-origin https://app.example: that origin passes, "
        "another gets 403")
def _():
    s = setup.get()
    allowed(s.urls["listed"][0], "https://app.example")
    refused(s.urls["listed"][0], "https://other.example")


# --------------------------------------------------------------------------
# Handshake deadline on the proxy's wss port


class DeadlineRun:
    def __init__(self):
        s = setup.get()
        gateway.get()
        self.results = {}
        self.echo_count = 0
        self.echo_error = None
        self.after = None
        h.arun(self.go(s), DEADLINE_WAIT + 30)

    async def silent(self, name, port, ctx=None):
        t0 = time.monotonic()
        writer = None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                        server_hostname="localhost" if ctx else None), 10)
            t0 = time.monotonic() if ctx is None else t0
            while True:
                left = t0 + DEADLINE_WAIT - time.monotonic()
                if left <= 0:
                    self.results[name] = (None, "still open")
                    return
                try:
                    data = await asyncio.wait_for(reader.read(4096), left)
                except asyncio.TimeoutError:
                    continue
                except (ConnectionError, ssl.SSLError, OSError) as e:
                    self.results[name] = (time.monotonic() - t0, f"{type(e).__name__}")
                    return
                if not data:
                    self.results[name] = (time.monotonic() - t0, "EOF")
                    return
        except Exception as e:  # noqa: BLE001
            self.results[name] = ("error", f"{type(e).__name__}: {e}")
        finally:
            if writer is not None:
                writer.close()

    async def session(self, s, stop):
        try:
            async with h.ws_connect(s.urls["relay"][0], s.ctx()) as c:
                i = 0
                while not stop.is_set():
                    msg = f"still here {i} ".encode() * (1 + i % 50)
                    await c.send(msg)
                    got = b""
                    while len(got) < len(msg):
                        got += await h.recv_within(c, 5)
                    h.check_equal(got, msg, f"echo {i} through the wss → tcp relay")
                    i += 1
                    self.echo_count = i
                    try:
                        await asyncio.wait_for(stop.wait(), 0.25)
                    except asyncio.TimeoutError:
                        pass
                # after the silent clients were dropped: still working
                await c.send(b"after")
                self.after = await h.recv_within(c, 5)
                await h.close_cleanly(c)
        except Exception as e:  # noqa: BLE001
            self.echo_error = f"{type(e).__name__}: {e}"

    async def go(self, s):
        stop = asyncio.Event()
        sess = asyncio.ensure_future(self.session(s, stop))
        await asyncio.sleep(0.5)
        await asyncio.gather(self.silent("silent TCP (no ClientHello)", s.wss_port),
                             self.silent("TLS done, no HTTP request", s.wss_port, s.ctx()))
        stop.set()
        await asyncio.wait_for(sess, 20)


deadline_run = h.Fixture("two silent clients and one echo session on the proxy's wss port",
                         DeadlineRun)


def check_dropped(name):
    r = deadline_run.get()
    took, how = r.results.get(name, ("error", "no result"))
    h.require(took != "error", f"{name}: {how}")
    h.require(took is not None, f"{name}: the gateway had not closed the connection after "
                                f"{DEADLINE_WAIT} s (deadline {DEADLINE} s)")
    h.require(took >= DEADLINE_MIN, f"{name}: closed after {took:.1f} s ({how}), before the "
                                    f"{DEADLINE} s deadline")
    sys.stdout.write(f"# {name}: closed after {took:.1f} s ({how})\n")


@T.case("handshake deadline: a silent TCP client on the proxy's wss port is closed "
        "after 10 s (waited at most 15 s)", timeout=60)
def _():
    check_dropped("silent TCP (no ClientHello)")


@T.case("upgrade deadline: a client that finished TLS but sends no HTTP request is "
        "closed after 10 s (waited at most 15 s)", timeout=60)
def _():
    check_dropped("TLS done, no HTTP request")


@T.case("meanwhile another client's wss → tcp session kept echoing (every 250 ms) and "
        "still works after the silent clients were dropped")
def _():
    r = deadline_run.get()
    h.require(r.echo_error is None, f"echo session failed after {r.echo_count} echoes: "
                                    f"{r.echo_error}")
    h.require(r.echo_count >= 20, f"only {r.echo_count} echoes during the deadline window")
    h.check_equal(r.after, b"after", "echo after the silent clients were dropped")


# --------------------------------------------------------------------------
# Backpressure


class Flood:
    """A dedicated gateway (so its idle RSS is its own): wss → tcp to a back-end
    that sends 200 MiB as fast as the socket takes it."""

    def __init__(self):
        s = setup.get()
        self.dir = T.tmpdir()
        self.pattern = p.Pattern("flood", base_size=8 * MiB)
        self.source = p.Server("flood", p.source_handler(self.pattern, FLOOD_TOTAL, FLOOD_SIZES))
        T.add_cleanup(self.source.close)
        self.port = h.free_port()
        self.url = f"wss://localhost:{self.port}/flood"
        ks = s.keystore.relative_to(self.dir)
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("flood", "proxy", [self.url],
                          [f"tcp://127.0.0.1:{self.source.port}"]),
        ], keystore=ks))
        # one process: its RSS is sampled from /proc/PID
        self.gw = h.start_gateway(self.config, [self.url], name="postern run (backpressure)",
                                  extra_args=["--workers", "1"])
        time.sleep(1.0)
        self.idle_kib = p.rss_kib(self.gw.proc.pid)
        self.samples = []
        self.slow_bytes = 0
        self.backend_out_after_slow = None
        self.total = 0
        self.sha = None
        self.error = None
        self.closed_early = None
        self.run(s)

    def run(self, s):
        pid = self.gw.proc.pid
        raw = p.connected_socket(self.port, rcvbuf=16 * KiB, timeout=30)
        tls = s.ctx().wrap_socket(raw, server_hostname="localhost")
        digest = hashlib.sha256()
        try:
            c = p.RawWs.open(tls, f"localhost:{self.port}", "/flood")

            def consume():
                for fin, op, payload in c.take_frames():
                    if op in (0x0, 0x2):
                        digest.update(payload)
                        self.total += len(payload)
                    elif op == 0x9:
                        c.send(0xA, payload)
                    elif op == 0x8:
                        code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                        return code
                    elif op == 0x1:
                        raise h.Fail("a text message from a tcp back-end (bytes must come "
                                     "as binary messages)")
                return None

            # slow: at most SLOW_RATE bytes per second off the socket
            t0 = time.monotonic()
            next_sample = t0
            read = 0
            while True:
                now = time.monotonic()
                if now >= next_sample:
                    self.samples.append((round(now - t0, 1), p.rss_kib(pid)))
                    next_sample += 1.0
                if now - t0 >= SLOW_SECONDS:
                    break
                budget = int(SLOW_RATE * (now - t0)) - read
                if budget <= 0:
                    time.sleep(0.02)
                    continue
                n = c.feed_from_socket(min(4096, budget))
                if n == 0:
                    self.closed_early = "EOF during the slow window"
                    break
                read += n
                code = consume()
                if code is not None:
                    self.closed_early = f"close {code} during the slow window"
                    break
            self.samples.append((round(time.monotonic() - t0, 1), p.rss_kib(pid)))
            self.slow_bytes = read
            with self.source.cond:
                recs = list(self.source.records)
            self.backend_out_after_slow = recs[0]["out"] if recs else None
            # fast: everything else
            tls.settimeout(30)
            deadline = time.monotonic() + 120
            while self.closed_early is None and self.total < FLOOD_TOTAL:
                if time.monotonic() > deadline:
                    raise h.Fail(f"only {self.total} of {FLOOD_TOTAL} bytes within 120 s "
                                 "of reading at full speed")
                if c.feed_from_socket(1 * MiB) == 0:
                    break
                if consume() is not None:
                    break
            self.sha = digest.hexdigest()
        except Exception as e:  # noqa: BLE001
            self.error = f"{type(e).__name__}: {e}"
        finally:
            try:
                tls.close()
            except OSError:
                pass


flood = h.Fixture("200 MiB from a tcp back-end to a wss client reading 64 KiB/s for "
                  "15 s, then at full speed", Flood)


@T.case("backpressure: while the client reads 64 KiB/s for 15 s, the gateway's RSS "
        "stays within 32 MiB of its idle size (sampled every second from /proc)",
        timeout=120)
def _():
    f = flood.get()
    h.require(f.error is None or f.samples, f"the flood client failed: {f.error}")
    h.require(f.closed_early is None, f"the connection ended early: {f.closed_early}")
    h.require(len(f.samples) >= SLOW_SECONDS, f"only {len(f.samples)} RSS samples")
    peak = max(kib for _, kib in f.samples)
    sys.stdout.write(f"# idle RSS {f.idle_kib} KiB; samples (s, KiB): {f.samples}\n")
    sys.stdout.write(f"# slow window: client read {f.slow_bytes} bytes; back-end had sent "
                     f"{f.backend_out_after_slow} bytes\n")
    h.require(peak - f.idle_kib <= RSS_MARGIN_KIB,
              f"gateway RSS grew by {peak - f.idle_kib} KiB (> {RSS_MARGIN_KIB} KiB) over its "
              f"idle {f.idle_kib} KiB while the client read slowly; samples: {f.samples}")
    h.require(f.slow_bytes >= SLOW_RATE * SLOW_SECONDS * 0.5,
              f"the client could read only {f.slow_bytes} bytes in the slow window "
              "(the session was not flowing)")


@T.case("backpressure reaches the back-end: after the slow window it has sent far "
        "less than 200 MiB (the gateway stopped reading from it)", timeout=120)
def _():
    f = flood.get()
    h.require(f.backend_out_after_slow is not None, "the back-end saw no connection")
    h.require(f.backend_out_after_slow <= 64 * MiB,
              f"the back-end sent {f.backend_out_after_slow} bytes during the slow window "
              f"while the client read {f.slow_bytes}: the gateway kept reading")


@T.case("backpressure: then at full speed all 200 MiB arrive intact and in order "
        "(SHA-256 of the deterministic stream)", timeout=120)
def _():
    f = flood.get()
    h.require(f.error is None, f"the flood client failed: {f.error}")
    h.require(f.closed_early is None, f"the connection ended early: {f.closed_early}")
    h.check_equal(f.total, FLOOD_TOTAL, "bytes received by the client")
    want = f.pattern.sha256(FLOOD_TOTAL, FLOOD_SIZES)
    rec = f.source.wait_records(1, 15)[0]
    h.check_equal(rec.get("sha256"), want, "SHA-256 the back-end computed of what it sent")
    h.check_equal(f.sha, want, "SHA-256 of the 200 MiB the client received")


# The other direction: a client that uploads as fast as it can to a back-end
# that reads slowly.

UP_TOTAL = 96 * MiB
UP_SLOW_SECONDS = 8.0
UP_FRAME = 64 * KiB


def slow_reader_handler(fast):
    """Read at most SLOW_RATE bytes/s until `fast` is set, then at full
    speed until EOF; record count and SHA-256."""
    def handler(conn, record):
        d = hashlib.sha256()
        t0 = time.monotonic()
        while not fast.is_set():
            budget = int(SLOW_RATE * (time.monotonic() - t0)) - record["in"]
            if budget <= 0:
                time.sleep(0.02)
                continue
            data = conn.recv(min(4096, budget))
            if not data:
                record["sha256"] = d.hexdigest()
                return
            d.update(data)
            record["in"] += len(data)
        record["in_at_fast"] = record["in"]
        while True:
            data = conn.recv(1 * MiB)
            if not data:
                break
            d.update(data)
            record["in"] += len(data)
        record["sha256"] = d.hexdigest()
    return handler


class Upload:
    def __init__(self):
        import threading
        s = setup.get()
        self.dir = T.tmpdir()
        self.fast = threading.Event()
        self.sink = p.Server("slow-reader", slow_reader_handler(self.fast))
        T.add_cleanup(self.sink.close)
        T.add_cleanup(self.fast.set)
        self.port = h.free_port()
        self.url = f"wss://localhost:{self.port}/upload"
        ks = s.keystore.relative_to(self.dir)
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("upload", "proxy", [self.url], [f"tcp://127.0.0.1:{self.sink.port}"]),
        ], keystore=ks))
        # one process: its RSS is sampled from /proc/PID
        self.gw = h.start_gateway(self.config, [self.url], name="postern run (upload)",
                                  extra_args=["--workers", "1"])
        time.sleep(1.0)
        self.idle_kib = p.rss_kib(self.gw.proc.pid)
        self.samples = []
        self.written = 0
        self.written_after_slow = None
        self.sent_sha = hashlib.sha256()
        self.error = None
        self.run(s, threading)

    def run(self, s, threading):
        pid = self.gw.proc.pid
        raw = p.connected_socket(self.port, timeout=60)
        tls = s.ctx().wrap_socket(raw, server_hostname="localhost")
        pattern = p.Pattern("upload")
        try:
            c = p.RawWs.open(tls, f"localhost:{self.port}", "/upload")

            def writer():
                try:
                    for piece in pattern.pieces(UP_TOTAL, [UP_FRAME]):
                        c.send(0x2, piece)
                        self.sent_sha.update(piece)
                        self.written += len(piece)
                except Exception as e:  # noqa: BLE001
                    self.error = f"writer: {type(e).__name__}: {e}"

            t = threading.Thread(target=writer, daemon=True)
            t0 = time.monotonic()
            t.start()
            while time.monotonic() - t0 < UP_SLOW_SECONDS:
                self.samples.append((round(time.monotonic() - t0, 1), p.rss_kib(pid)))
                time.sleep(1.0)
            self.samples.append((round(time.monotonic() - t0, 1), p.rss_kib(pid)))
            self.written_after_slow = self.written
            self.fast.set()
            t.join(60)
            h.require(not t.is_alive(), f"the client could not upload {UP_TOTAL} bytes "
                                        "within 60 s of the back-end reading at full speed")
            c.close(1000, b"done")
            # the gateway's close frame (bounded)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    if not c.feed_from_socket(65536):
                        break
                except OSError:
                    break
                if any(op == 0x8 for _, op, _ in c.take_frames()):
                    break
        except Exception as e:  # noqa: BLE001
            self.error = self.error or f"{type(e).__name__}: {e}"
        finally:
            try:
                tls.close()
            except OSError:
                pass


upload = h.Fixture("96 MiB from a wss client to a tcp back-end reading 64 KiB/s for 8 s, "
                   "then at full speed", Upload)


@T.case("backpressure (upload): while the back-end reads 64 KiB/s for 8 s, the gateway's "
        "RSS stays within 32 MiB of its idle size and the client is held back", timeout=120)
def _():
    u = upload.get()
    peak = max(kib for _, kib in u.samples) if u.samples else None
    sys.stdout.write(f"# idle RSS {u.idle_kib} KiB; samples (s, KiB): {u.samples}\n")
    sys.stdout.write(f"# client had written {u.written_after_slow} bytes after the slow window\n")
    h.require(peak is not None, f"no RSS samples ({u.error})")
    h.require(peak - u.idle_kib <= RSS_MARGIN_KIB,
              f"gateway RSS grew by {peak - u.idle_kib} KiB (> {RSS_MARGIN_KIB} KiB) over its "
              f"idle {u.idle_kib} KiB while the back-end read slowly; samples: {u.samples}")
    h.require(u.written_after_slow is not None and u.written_after_slow <= UP_TOTAL // 2,
              f"the client wrote {u.written_after_slow} bytes while the back-end read "
              f"{SLOW_RATE}/s for {UP_SLOW_SECONDS} s: the gateway kept reading from it")


@T.case("backpressure (upload): then all 96 MiB reach the back-end intact and in order, "
        "also after the client's close frame", timeout=120)
def _():
    u = upload.get()
    h.require(u.error is None, f"the upload client failed: {u.error}")
    rec = u.sink.wait_records(1, 30)[0]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], UP_TOTAL, "bytes the back-end received")
    h.check_equal(rec["sha256"], u.sent_sha.hexdigest(),
                  "SHA-256 at the back-end vs what the client sent")


@T.case("the gateways of this file stop cleanly (exit 0) on SIGTERM")
def _():
    errors = []
    gws = []
    if gateway.built:
        gws.append(gateway.get())
    if flood.built:
        gws.append(flood.get().gw)
    if upload.built:
        gws.append(upload.get().gw)
    for gw in gws:
        try:
            gw.stop()
        except h.Fail as e:
            errors.append(str(e))
        finally:
            p.dump_log(gw, limit=60)
    h.require(not errors, "\n".join(errors))


if __name__ == "__main__":
    T.run()
