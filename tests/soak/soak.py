#!/usr/bin/python3
# soak.py: `make soak` (issue 11 item 8) — one gateway under SOAK_SECONDS
# (default 600) of mixed work: WebSocket echo sessions and wss → ssl proxy
# sessions (a TLS echo back-end in its own process), each checked byte for
# byte, closed cleanly or abruptly (RST), clients that connect and vanish,
# clients that stall until the inactivity timeout, and a SIGHUP every
# minute (a fifth of shorter runs).  The gateway's RSS and descriptor count
# are sampled every 10 s and printed as a table.  The verdict: after the
# warm-up (the first 2 minutes; a fifth of shorter runs) neither grows by
# more than 5 % (mean of the last third of the samples against the mean of
# the first third), no session sees a wrong byte or an error, every reload
# succeeds, and once the load stops the descriptors return to their start.
# Exit status 0 on a pass, 1 otherwise.  Not part of `make check`.
# SPDX-License-Identifier: Apache-2.0
"""usage: soak.py [--build DIR] [--seconds N] [--workers N]

SOAK_SECONDS overrides the default duration (600 s); --seconds overrides
both.  The warm-up is the first 120 s (a fifth of shorter runs)."""
import argparse
import asyncio
import hashlib
import os
import random
import signal
import socket
import statistics
import struct
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "faults"))

SAMPLE_EVERY = 10.0
RELOAD_EVERY = 60.0
WARMUP = 120.0
GROWTH_LIMIT = 0.05
IDLE = 10                 # ws.inactivity.timeout (s) on every service
SIZES = [7, 125, 126, 1000, 4096, 16 * 1024, 65535, 65537, 200 * 1024]


class Stats:
    def __init__(self):
        self.sessions = 0
        self.open = 0
        self.bytes = 0
        self.errors = []
        self.by_kind = {}

    def error(self, what):
        if len(self.errors) < 50:
            self.errors.append(what)
        else:
            self.errors[-1] = f"… and more; last: {what}"


def rst(conn):
    """Abort a websockets connection with a RST (SO_LINGER 0)."""
    sock = conn.transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    conn.transport.abort()


async def session(h, url, ctx, stats, rng, kind):
    """One client: a few messages echoed back (SHA-256 of both streams: a
    byte back-end may return them cut differently), then a clean close, a
    RST, or a stall (open, unread, until the gateway gives up on it)."""
    ws = h.import_websockets()
    ending = rng.choices(["clean", "rst", "stall"], [6, 3, 1])[0]
    sent = hashlib.sha256()
    got = hashlib.sha256()
    n_sent = n_got = 0
    stats.open += 1
    c = None
    try:
        c = await h.ws_connect(url, ctx, server_hostname="localhost" if ctx else None)
        for _ in range(rng.randint(1, 30)):
            m = rng.randbytes(rng.choice(SIZES))
            await c.send(m)
            sent.update(m)
            n_sent += len(m)
            while n_got < n_sent:
                back = await asyncio.wait_for(c.recv(), 30)
                got.update(back)
                n_got += len(back)
            stats.bytes += len(m)
            if rng.random() < 0.2:
                await asyncio.sleep(rng.random() * 2)
        if got.digest() != sent.digest():
            stats.error(f"{kind}: echo differs from what was sent ({n_got} bytes for {n_sent})")
        if ending == "clean":
            await asyncio.wait_for(c.close(1000, "bye"), 10)
            if c.close_rcvd is None or c.close_rcvd.code != 1000:
                stats.error(f"{kind}: close answered with {c.close_rcvd}")
        else:
            if ending == "stall":
                # stop reading and writing (no pong either: the library
                # answers pings only while it reads): the gateway pings,
                # then gives up on the session
                c.transport.pause_reading()
                await asyncio.sleep(IDLE * 2.5)
            rst(c)
        stats.by_kind[(kind, ending)] = stats.by_kind.get((kind, ending), 0) + 1
    except ws.exceptions.ConnectionClosed as e:
        stats.error(f"{kind}/{ending}: closed by the gateway: {e}")
    except Exception as e:  # noqa: BLE001 - counted; the soak goes on
        stats.error(f"{kind}/{ending}: {type(e).__name__}: {e}")
    finally:
        if c is not None and ending != "clean":
            c.transport.abort()
        stats.open -= 1
        stats.sessions += 1


async def vanish(port, stats):
    """Connect, send half an upgrade request, and reset."""
    stats.open += 1
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        w.write(b"GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n")
        await w.drain()
        rst_sock = w.get_extra_info("socket")
        rst_sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        w.transport.abort()
        stats.by_kind[("vanish", "rst")] = stats.by_kind.get(("vanish", "rst"), 0) + 1
    except Exception as e:  # noqa: BLE001
        stats.error(f"vanish: {type(e).__name__}: {e}")
    finally:
        stats.open -= 1
        stats.sessions += 1


async def worker(h, env, stats, stop, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        what = rng.choices(["ws", "wss-ssl", "vanish"], [4, 4, 1])[0]
        if what == "ws":
            await session(h, env["ws"], None, stats, rng, "ws echo")
        elif what == "wss-ssl":
            await session(h, env["wss"], env["ctx"], stats, rng, "wss→ssl")
        else:
            await vanish(env["ws_port"], stats)
        await asyncio.sleep(rng.random() * 0.2)


def open_connections(url):
    """postern_connections_open per service, from the gateway's /metrics."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        if line.startswith("postern_connections_open{"):
            labels, value = line.rsplit(" ", 1)
            service = labels.split('service="', 1)[1].split('"', 1)[0]
            found[service] = int(float(value))
    return found


def verdict_of(samples, warmup):
    """(lines, ok): mean of the first third of the samples after the
    warm-up against the mean of the last third.  RSS as it is.  The
    descriptor count follows the load (a proxy session holds two, an echo
    one, and how many of each are open at a sample varies by several), so
    its growth is measured on the descriptors the open connections do not
    explain (listeners, files, and any leak), relative to the whole count:
    a leak grows that part; the load's ups and downs do not."""
    after = [s for s in samples if s["t"] >= warmup]
    if len(after) < 3:
        return [f"too few samples after the warm-up ({len(after)}) for a trend"], False
    third = max(1, len(after) // 3)
    lines, ok = [], True

    def mean(key, part):
        return statistics.mean(s[key] for s in part)

    first, last = mean("rss", after[:third]), mean("rss", after[-third:])
    growth = (last - first) / first
    good = growth <= GROWTH_LIMIT
    ok &= good
    lines.append(f"RSS (KiB): {first:.0f} after the warm-up → {last:.0f} at the end "
                 f"({growth * 100:+.1f} %, limit +{GROWTH_LIMIT * 100:.0f} %): "
                 f"{'ok' if good else 'GROWTH'}")
    fds_first, fds_last = mean("fds", after[:third]), mean("fds", after[-third:])
    other_first, other_last = mean("other", after[:third]), mean("other", after[-third:])
    growth = (other_last - other_first) / fds_first
    good = growth <= GROWTH_LIMIT
    ok &= good
    lines.append(f"descriptors: {fds_first:.1f} after the warm-up → {fds_last:.1f} at the end; "
                 f"not held by an open connection: {other_first:.1f} → {other_last:.1f} "
                 f"({growth * 100:+.1f} % of the count, limit +{GROWTH_LIMIT * 100:.0f} %): "
                 f"{'ok' if good else 'GROWTH'}")
    return lines, ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--seconds", type=float,
                    default=float(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--workers", type=int, default=24)
    args = ap.parse_args()
    os.environ.setdefault("POSTERN", os.path.join(os.path.abspath(args.build), "gateway", "postern"))
    os.environ.setdefault("POSTERN_SOURCE_DIR", SOURCE)
    import faultlib as f
    from faultlib import h, p

    f.raise_nofile()
    duration = args.seconds
    warmup = WARMUP if duration >= 3 * WARMUP else duration / 5
    import tempfile
    import shutil
    directory = tempfile.mkdtemp(prefix="postern-soak-")
    pki = h.Pki(os.path.join(directory, "pki"))
    h.make_keystore(directory, pki=pki, method="openssl")
    backend = f.Backend("echo", cert=pki.server("localhost"), name="tls-echo")
    ws_port, wss_port, status_port = h.free_ports(3)
    opts = {"ws.inactivity.timeout": f"{IDLE}s"}
    truststore = p.pem_truststore(directory, pki.ca.cert)
    env = {"ws": f"ws://localhost:{ws_port}/echo", "wss": f"wss://localhost:{wss_port}/proxy",
           "ws_port": ws_port, "ctx": h.client_ssl_context(cafile=pki.ca.cert)}
    status = f"http://127.0.0.1:{status_port}/"
    metrics_url = status + "metrics"
    text = p.config_xml([h.service_xml("status", "status", [status]),
                         h.service_xml("echo", "echo", [env["ws"]], accept_options=opts),
                         h.service_xml("proxy", "proxy", [env["wss"]],
                                       [f"ssl://localhost:{backend.port}"], accept_options=opts)],
                        keystore=("keystore.db", "keystore.pw"),
                        truststore=os.path.relpath(truststore, directory))
    config = h.write_config(directory, text)
    # One process: /metrics counts everything, /proc/PID has its fds and RSS.
    gw = h.start_gateway(config, [status, env["ws"], env["wss"]], name="postern run (soak)",
                         extra_args=["--workers", "1"])
    pid = gw.proc.pid
    fd_start = f.fd_count(pid)
    stats = Stats()
    samples = []
    reloads = 0
    print(f"soak: {duration:.0f} s, {args.workers} workers, warm-up {warmup:.0f} s, "
          f"gateway pid {pid} ({os.environ['POSTERN']})", flush=True)
    print(f"{'t (s)':>6} {'RSS KiB':>9} {'fds':>5} {'echo':>5} {'proxy':>5} {'other':>5} "
          f"{'sessions':>9} {'MiB echoed':>10} {'errors':>6} {'reloads':>7}", flush=True)

    async def run():
        nonlocal reloads
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(worker(h, env, stats, stop, i)) for i in range(args.workers)]
        t0 = time.monotonic()
        next_sample = 0.0
        reload_every = min(RELOAD_EVERY, duration / 5)
        next_reload = reload_every
        while True:
            t = time.monotonic() - t0
            if t >= next_sample:
                if not gw.running():
                    stats.error("the gateway exited")
                    break
                try:
                    conns = await asyncio.get_running_loop().run_in_executor(
                        None, open_connections, metrics_url)
                except OSError as e:
                    stats.error(f"GET {metrics_url}: {e}")
                    conns = {}
                fds = f.fd_count(pid)
                echo, proxy, probe = (conns.get(k, 0) for k in ("echo", "proxy", "status"))
                s = {"t": t, "rss": f.rss_kib(pid), "fds": fds, "echo": echo, "proxy": proxy,
                     # a proxy connection holds two descriptors (client, back-end)
                     "other": fds - echo - 2 * proxy - probe,
                     "sessions": stats.sessions, "bytes": stats.bytes,
                     "errors": len(stats.errors), "reloads": reloads}
                samples.append(s)
                print(f"{t:6.0f} {s['rss']:9d} {fds:5d} {echo:5d} {proxy:5d} {s['other']:5d} "
                      f"{s['sessions']:9d} {s['bytes'] / 2**20:10.1f} {s['errors']:6d} "
                      f"{reloads:7d}", flush=True)
                next_sample += SAMPLE_EVERY
            if t >= duration:
                break
            if t >= next_reload:
                gw.signal(signal.SIGHUP)
                reloads += 1
                next_reload += reload_every
            await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), IDLE * 3 + 60)

    ok = True
    try:
        asyncio.run(run())
        # quiet: every session over, the gateway back to its descriptors
        settled = f.wait_until(lambda: f.fd_count(pid) <= fd_start, IDLE * 3 + 10, 0.5)
        fd_end = f.fd_count(pid)
        rss_end = f.rss_kib(pid)
        logged = f.count_lines(gw, "reloaded ")
        failed = f.count_lines(gw, "reload failed")
        lines, ok = verdict_of(samples, warmup)
        print()
        for l in lines:
            print(l)
        print(f"descriptors once the load stopped: {fd_end} (start {fd_start}): "
              f"{'ok' if settled else 'LEAK'}; RSS then {rss_end} KiB")
        print(f"sessions: {stats.sessions}, {stats.bytes / 2**20:.1f} MiB echoed and checked; "
              + ", ".join(f"{k[0]}/{k[1]} {n}" for k, n in sorted(stats.by_kind.items())))
        print(f"reloads: {reloads} sent, {logged} logged, {failed} failed")
        if stats.errors:
            print(f"errors ({len(stats.errors)}):")
            for e in stats.errors[:20]:
                print(f"  {e}")
        ok = ok and settled and not stats.errors and logged == reloads and failed == 0
        gw.stop(timeout=40)
    finally:
        gw.kill()
        backend.kill()
        if ok and not os.environ.get("POSTERN_E2E_KEEP"):
            shutil.rmtree(directory, ignore_errors=True)
        else:
            gw.save_log(os.path.join(directory, "postern-run.log"))
            print(f"kept {directory}")
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
