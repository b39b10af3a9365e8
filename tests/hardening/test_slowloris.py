#!/usr/bin/python3
# test_slowloris.py: 200 slowloris clients — half trickling their first
# request head one byte a second, half completing a request on a kept-alive
# connection and then trickling the next head, some of each over TLS — are
# all closed by the 10 s head deadline (within deadline + 2 s), while a
# well-behaved client keeps echoing throughout without a single failure.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import re
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=90)

DEADLINE = 10.0          # DEADLINE_MS in gateway/net/pst-connection-private.h
SLACK = 2.0
# make check-asan: ASan slows every event the gateway handles (200 clients
# whose deadlines fire together); the deadline itself is the same.
if os.environ.get("POSTERN_SANITIZED") == "1":
    SLACK = 6.0
PLAIN_FIRST, PLAIN_KEPT, TLS_FIRST, TLS_KEPT = 80, 80, 20, 20
SOURCES = [f"127.0.0.{i}" for i in range(1, 5)]
GIVE_UP = DEADLINE + 8.0
# long enough that one byte a second cannot finish it before the deadline
SLOW_HEAD = (b"GET /echo HTTP/1.1\r\nHost: localhost\r\n" + b"X-Slow: " + b"z" * 40 + b"\r\n\r\n")


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-slowloris-")
        self.keystore = h.make_keystore(self.dir)
        self.ws_port, self.wss_port = h.free_ports(2)
        self.urls = [f"ws://localhost:{self.ws_port}/echo", f"wss://localhost:{self.wss_port}/echo"]
        ks = self.keystore.relative_to(self.dir)
        self.config = h.write_config(self.dir, h.config_xml(
            [h.service_xml("echo", "echo", self.urls)], keystore=ks))

    def ctx(self):
        return self.keystore.client_context()


setup = h.Fixture("keystore and a ws + wss echo config", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, s.urls, name="postern run (slowloris)")


gateway = h.Fixture("postern run on the slowloris config", start)


async def read_response(reader):
    """One whole HTTP response (head + Content-Length body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if m:
        await reader.readexactly(int(m.group(1)))
    return head


async def slow_client(s, n, tls, kept):
    """Returns (what, seconds from the deadline's start to the close, or None)."""
    src = SOURCES[n % len(SOURCES)]
    port = s.wss_port if tls else s.ws_port
    kind = f"{'tls' if tls else 'plain'}-{'kept-alive' if kept else 'first-head'} #{n} from {src}"
    t_start = time.monotonic()
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, local_addr=(src, 0),
        ssl=s.ctx() if tls else None, server_hostname="localhost" if tls else None)
    try:
        if kept:
            writer.write(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head = await asyncio.wait_for(read_response(reader), 5)
            if not head.startswith(b"HTTP/1.1 400"):
                return kind, f"first request answered {head[:40]!r}"
            await asyncio.sleep(1.0)      # idle between requests: keep-alive, not a head yet
            t_start = time.monotonic()    # the head deadline runs from its first byte

        async def trickle():
            for byte in SLOW_HEAD:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1.0)

        sender = asyncio.ensure_future(trickle())
        try:
            data = await asyncio.wait_for(reader.read(4096), GIVE_UP)
            if data:
                return kind, f"got {data[:40]!r} instead of a close"
        except (ConnectionError, ssl.SSLError):
            pass
        except asyncio.TimeoutError:
            return kind, None
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return kind, time.monotonic() - t_start
    finally:
        writer.close()
        await asyncio.gather(writer.wait_closed(), return_exceptions=True)


async def good_client(s, stop, stats):
    async with h.ws_connect(s.urls[0]) as c:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                await h.echo_once(c, f"round {stats['ok']}", timeout=5.0)
            except Exception as e:  # noqa: BLE001 - every failure counts
                stats["failed"].append(repr(e))
                return
            stats["ok"] += 1
            stats["worst"] = max(stats["worst"], time.monotonic() - t0)
            await asyncio.sleep(0.1)
        await h.close_cleanly(c)


@T.case(f"{PLAIN_FIRST + PLAIN_KEPT + TLS_FIRST + TLS_KEPT} slowloris clients (first head and kept-alive "
        f"next head, plain and TLS) are closed within {DEADLINE:.0f} + {SLACK:.0f} s; an echo client "
        "never fails meanwhile")
def slowloris():
    s, gw = setup.get(), gateway.get()

    async def run():
        stop = asyncio.Event()
        stats = {"ok": 0, "failed": [], "worst": 0.0}
        good = asyncio.ensure_future(good_client(s, stop, stats))
        await asyncio.sleep(0.3)
        plan = ([(False, False)] * PLAIN_FIRST + [(False, True)] * PLAIN_KEPT +
                [(True, False)] * TLS_FIRST + [(True, True)] * TLS_KEPT)
        results = await asyncio.gather(*(slow_client(s, n, tls, kept) for n, (tls, kept) in enumerate(plan)),
                                       return_exceptions=True)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(good, 10)
        return results, stats

    results, stats = h.arun(run(), 60)
    errors = [r for r in results if isinstance(r, BaseException)]
    h.require(not errors, f"{len(errors)} slow clients failed to start: {errors[:3]}")
    bad = [(k, t) for k, t in results if not isinstance(t, float)]
    h.require(not bad, f"{len(bad)} of {len(results)} slow clients not closed by the deadline: {bad[:5]}")
    times = sorted(t for _, t in results)
    early = [(k, t) for k, t in results if t < DEADLINE - 1.0]
    late = [(k, t) for k, t in results if t > DEADLINE + SLACK]
    h._diag(f"closed after {times[0]:.2f} … {times[-1]:.2f} s; echo: {stats['ok']} round trips, "
            f"worst {stats['worst'] * 1000:.0f} ms")
    h.require(not early, f"{len(early)} closed before the deadline: {early[:3]}")
    h.require(not late, f"{len(late)} closed after deadline + {SLACK} s: {late[:3]}")
    h.require(not stats["failed"], f"the echo client failed: {stats['failed']}")
    h.require(stats["ok"] >= 50, f"only {stats['ok']} echo round trips during the attack")
    lines = [l for l in gw.stderr if "no complete request head within" in l]
    h.require(len(lines) >= PLAIN_KEPT + TLS_KEPT,
              f"{len(lines)} 'no complete request head' lines for {PLAIN_KEPT + TLS_KEPT} kept-alive clients")
    h.require(gw.running(), "the gateway died")


@T.case("the gateway stops cleanly afterwards (0 connections counted)")
def stop_clean():
    gw = gateway.get()
    gw.stop()
    line = gw.wait_stderr(lambda l: "stopping:" in l, 2)
    h.require(line is not None and "stopping: 0 connection(s) open" in line, f"stop line: {line}")


T.run()
