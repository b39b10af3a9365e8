#!/usr/bin/python3
# test_echo_limits.py: issue 4 item 8 on the echo service — the handshake
# deadline drops silent clients while other sessions keep working,
# ws.maximum.message.size closes with 1009, and 50 concurrent wss clients
# each echo 200 messages correctly.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=90)

DEADLINE = 10.0          # the default TLS-handshake / upgrade deadline (issue 4)
DEADLINE_WAIT = 15.0     # how long a silent client waits for the gateway to drop it
DEADLINE_MIN = DEADLINE - 1.0
LIMIT = "64k"
CLIENTS = 50
MESSAGES = 200


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.ws_port, self.wss_port, self.limited_port = h.free_ports(3)
        self.urls = [f"ws://localhost:{self.ws_port}/echo",
                     f"wss://localhost:{self.wss_port}/echo"]
        self.limited_url = f"wss://localhost:{self.limited_port}/limited"
        ks = self.keystore.relative_to(self.dir)
        text = h.config_xml([
            h.service_xml("echo", "echo", self.urls),
            h.service_xml("limited", "echo", [self.limited_url],
                          accept_options={"ws.maximum.message.size": LIMIT}),
        ], keystore=ks)
        self.config = h.write_config(self.dir, text)
        self.ca = self.keystore.trust_pem

    def ctx(self):
        return h.client_ssl_context(cafile=self.ca)


setup = h.Fixture("CA, keystore and config", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, s.urls + [s.limited_url], name="postern run (limits)")


gateway = h.Fixture("postern run on the limits config", start)


@T.case("postern run prints one 'listening on' line per accept URL within 10 s")
def _():
    s = setup.get()
    gw = gateway.get()
    h.check_equal(sorted(gw.listening_urls()), sorted(s.urls + [s.limited_url]),
                  "URLs printed after 'listening on'")


# --------------------------------------------------------------------------
# handshake / upgrade deadline


async def wait_dropped(reader, t0):
    """Read until the gateway closes the connection (EOF, reset or a TLS
    error), at most until t0 + DEADLINE_WAIT.  Returns (seconds, bytes seen)
    or (None, bytes) if still open then."""
    seen = b""
    while True:
        left = t0 + DEADLINE_WAIT - time.monotonic()
        if left <= 0:
            return None, seen
        try:
            chunk = await asyncio.wait_for(reader.read(4096), left)
        except asyncio.TimeoutError:
            return None, seen
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
            return time.monotonic() - t0, seen
        if not chunk:
            return time.monotonic() - t0, seen
        seen += chunk


class DeadlineRun:
    """Three silent clients (raw TCP on the wss port, TLS done but no HTTP
    request on the wss port, raw TCP on the ws port) and, at the same time,
    an echo session exchanging a message every 250 ms."""

    def __init__(self):
        s = setup.get()
        gateway.get()
        self.results = {}
        self.echo_error = None
        self.echo_count = 0
        self.echo_span = 0.0
        h.arun(self.go(s), DEADLINE_WAIT + 30)

    async def silent(self, name, port, ctx=None, send=b""):
        """Connect (TLS if ctx), send `send` (e.g. half a request), then
        nothing more."""
        t0 = time.monotonic()
        writers = []
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                        server_hostname="localhost" if ctx else None),
                10)
            writers.append(writer)
            if send:
                writer.write(send)
                await writer.drain()
            self.results[name] = await wait_dropped(reader, t0)
        except Exception as e:  # noqa: BLE001
            self.results[name] = ("error", f"{type(e).__name__}: {e}")
        finally:
            for w in writers:
                w.close()

    async def echo_session(self, s, stop):
        try:
            async with h.ws_connect(f"wss://localhost:{s.wss_port}/echo", s.ctx()) as c:
                t0 = time.monotonic()
                i = 0
                while not stop.is_set():
                    await h.echo_once(c, f"still here {i} " + "z" * (i % 97), timeout=5)
                    i += 1
                    self.echo_count = i
                    try:
                        await asyncio.wait_for(stop.wait(), 0.25)
                    except asyncio.TimeoutError:
                        pass
                await h.echo_once(c, b"\x01binary after the deadline\xff", timeout=5)
                self.echo_span = time.monotonic() - t0
                await h.close_cleanly(c)
        except BaseException as e:  # noqa: BLE001
            self.echo_error = f"{type(e).__name__}: {e}"

    async def go(self, s):
        stop = asyncio.Event()
        echo = asyncio.create_task(self.echo_session(s, stop))
        await asyncio.sleep(0.5)  # the session is open before the silent ones
        half = (b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\n")
        await asyncio.gather(
            self.silent("tcp-wss", s.wss_port),
            self.silent("tls-no-request", s.wss_port, s.ctx()),
            self.silent("tls-half-request", s.wss_port, s.ctx(), half),
            self.silent("tcp-ws", s.ws_port),
            self.silent("tcp-half-request", s.ws_port, None, half))
        stop.set()
        await asyncio.wait_for(echo, 20)


deadline_run = h.Fixture("silent clients + an echo session", DeadlineRun)


def dropped(name, what):
    r = deadline_run.get().results.get(name)
    h.require(r is not None, f"{what}: no result recorded")
    if r[0] == "error":
        raise h.Fail(f"{what}: could not run: {r[1]}")
    took, seen = r
    h.require(took is not None,
              f"{what}: still open after {DEADLINE_WAIT:g} s (bytes seen: {h.short(seen)})")
    h.require(took >= DEADLINE_MIN,
              f"{what}: dropped after {took:.2f} s, before the {DEADLINE:g} s deadline")
    h._diag(f"dropped after {took:.2f} s; bytes seen: {h.short(seen)}")


@T.case(f"a TCP client on the wss port that sends nothing is dropped by the "
        f"{DEADLINE:g} s deadline (waited up to {DEADLINE_WAIT:g} s)", timeout=60)
def _():
    dropped("tcp-wss", "silent TCP client on the wss port")


@T.case("a client that completes TLS but sends no request is dropped by the deadline")
def _():
    dropped("tls-no-request", "TLS client without an HTTP request")


@T.case("a TCP client on the ws port that sends nothing is dropped by the deadline")
def _():
    dropped("tcp-ws", "silent TCP client on the ws port")


@T.case("a ws client that sends half a request and stops is dropped by the deadline")
def _():
    dropped("tcp-half-request", "half an HTTP request on the ws port")


@T.case("a wss client that sends half a request and stops is dropped by the deadline")
def _():
    dropped("tls-half-request", "half an HTTP request over TLS on the wss port")


@T.case("another client's echo session keeps working throughout and after the deadline")
def _():
    r = deadline_run.get()
    h.require(r.echo_error is None,
              f"echo session failed after {r.echo_count} messages: {r.echo_error}")
    h.require(r.echo_count >= 20, f"only {r.echo_count} echoes during the window")
    h.require(r.echo_span >= DEADLINE_MIN,
              f"the session lasted only {r.echo_span:.2f} s")
    h._diag(f"{r.echo_count} echoes over {r.echo_span:.1f} s")


# --------------------------------------------------------------------------
# ws.maximum.message.size


def expect_1009(make_message, rounds=10):
    """Send an oversized message; the gateway must answer with a close frame
    carrying 1009 -- and the client must actually receive that frame, even
    though it may still be writing the rest of the message (RFC 6455 5.5.1,
    7.1.1: close, then let the peer finish rather than resetting the TCP
    connection under it).  Several rounds, since a reset loses the frame only
    in some of them."""
    s = setup.get()
    gateway.get()
    ws = h.import_websockets()

    async def one():
        async with h.ws_connect(s.limited_url, s.ctx()) as c:
            await h.echo_once(c, "small first")
            try:
                await c.send(make_message())
                got = await asyncio.wait_for(c.recv(), 10)
            except ws.exceptions.ConnectionClosed as e:
                if e.rcvd is None:
                    return "connection dropped without a close frame"
                return f"close {e.rcvd.code}"
            except asyncio.TimeoutError:
                return "neither an echo nor a close within 10 s"
            return f"echoed ({len(got)} long)"

    outcomes = [h.arun(one(), 30) for _ in range(rounds)]
    h.require(all(o == "close 1009" for o in outcomes),
              f"{rounds} rounds: {', '.join(outcomes)} (expected close 1009 each time)")


@T.case(f"ws.maximum.message.size {LIMIT}: a 100 KiB binary message gets close 1009 (10 rounds)")
def _():
    expect_1009(lambda: os.urandom(100 * 1024))


@T.case(f"ws.maximum.message.size {LIMIT}: a 100 KiB text message gets close 1009 (10 rounds)")
def _():
    expect_1009(lambda: "t" * (100 * 1024))


@T.case(f"ws.maximum.message.size {LIMIT}: 100 KiB in four 25 KiB fragments gets close 1009 (10 rounds)")
def _():
    expect_1009(lambda: [os.urandom(25 * 1024) for _ in range(4)])


@T.case(f"ws.maximum.message.size {LIMIT}: a 60000-byte message is echoed intact")
def _():
    s = setup.get()
    gateway.get()

    async def go():
        async with h.ws_connect(s.limited_url, s.ctx()) as c:
            await h.echo_once(c, os.urandom(60000))
            await h.echo_once(c, "u" * 60000)
            await h.close_cleanly(c)
    h.arun(go(), 30)


# --------------------------------------------------------------------------
# concurrency


@T.case(f"{CLIENTS} concurrent wss clients each echo {MESSAGES} messages correctly",
        timeout=150)
def _():
    s = setup.get()
    gateway.get()
    url = f"wss://localhost:{s.wss_port}/echo"
    counts = [0] * CLIENTS

    async def client(cid):
        rnd = os.urandom(4096)
        async with h.ws_connect(url, s.ctx(), open_timeout=30) as c:
            for i in range(MESSAGES):
                if i % 2:
                    msg = f"client {cid} message {i} " + "m" * ((cid * 31 + i * 17) % 2000)
                else:
                    msg = cid.to_bytes(2, "big") + i.to_bytes(2, "big") + rnd[: (cid + i * 13) % 4096]
                await h.echo_once(c, msg, timeout=20)
                counts[cid] += 1
            await h.close_cleanly(c)

    async def go():
        return await asyncio.gather(*(client(i) for i in range(CLIENTS)),
                                    return_exceptions=True)
    t0 = time.monotonic()
    results = h.arun(go(), 120)
    errors = [(i, r) for i, r in enumerate(results) if isinstance(r, BaseException)]
    h._diag(f"{sum(counts)} round trips in {time.monotonic() - t0:.1f} s")
    if errors:
        detail = "\n".join(f"client {i} after {counts[i]} echoes: {type(e).__name__}: {e}"
                           for i, e in errors[:10])
        raise h.Fail(f"{len(errors)} of {CLIENTS} clients failed:\n{detail}")
    h.check_equal(sum(counts), CLIENTS * MESSAGES, "messages echoed")


@T.case("the gateway is still running and echoing after all of the above")
def _():
    s = setup.get()
    gw = gateway.get()
    h.require(gw.running(), "the gateway is no longer running")

    async def go():
        async with h.ws_connect(f"ws://localhost:{s.ws_port}/echo") as c:
            await h.echo_once(c, "final check")
            await h.close_cleanly(c)
    h.arun(go(), 20)


@T.case("SIGTERM with a wss session open: exit 0 within 5 s, the client gets close 1001")
def _():
    s = setup.get()
    gw = gateway.get()
    ws = h.import_websockets()
    outcome = {}

    async def go():
        async with h.ws_connect(f"wss://localhost:{s.wss_port}/echo", s.ctx()) as c:
            await h.echo_once(c, "before SIGTERM")
            loop = asyncio.get_running_loop()
            stopping = loop.run_in_executor(None, gw.stop)
            try:
                await asyncio.wait_for(c.recv(), h.STOP_TIMEOUT + 1)
                outcome["client"] = "received a message instead of a close"
            except ws.exceptions.ConnectionClosed as e:
                outcome["client"] = (f"close {e.rcvd.code} {e.rcvd.reason!r}" if e.rcvd
                                     else "connection dropped without a close frame")
            except asyncio.TimeoutError:
                outcome["client"] = "still open"
            outcome["took"] = await stopping  # raises Fail if not exit 0 in 5 s
    h.arun(go(), 30)
    h._diag(f"stopped in {outcome['took']:.2f} s; client: {outcome['client']}")
    # RFC 6455 7.4.1: 1001 "going away", such as a server going down
    h.require(outcome["client"].startswith("close 1001"),
              f"expected a close frame with 1001 (going away), got: {outcome['client']}")


if __name__ == "__main__":
    T.run()
