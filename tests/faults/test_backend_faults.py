#!/usr/bin/python3
# test_backend_faults.py: issue 11 item 8 (b, c) — back-ends that fail under
# load.  A TLS echo back-end killed (SIGKILL) mid-stream: its clients get
# close 1011 within 2 s, the sessions of the other back-end go on untouched
# (SHA-256 equal at both ends).  A back-end that accepts TCP but never
# speaks TLS: the client gets 1011 at the gateway's connect deadline, the log
# says why, and the gateway serves other sessions meanwhile.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as f  # noqa: E402
from faultlib import h, p, KiB  # noqa: E402

T = h.Tap(case_timeout=90)

PER_BACKEND = 5
KILL_BOUND = 2.0          # seconds from SIGKILL to the 1011 at the client
CONNECT_DEADLINE = 10.0   # the gateway's back-end connect deadline (pst-backend.c)
SIZES = [64 * KiB, 7, 16 * KiB, 125, 65537, 1000]


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-faults-")
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki, method="openssl")
        cert = self.pki.server("localhost")
        self.doomed = f.Backend("echo", cert=cert, name="doomed")
        T.add_cleanup(self.doomed.kill)
        self.steady = f.Backend("echo", cert=cert, name="steady")
        T.add_cleanup(self.steady.kill)
        self.silent = f.Backend("silent", name="silent")
        T.add_cleanup(self.silent.kill)
        self.port = h.free_port()
        W = f"wss://localhost:{self.port}"
        self.urls = {"doomed": f"{W}/doomed", "steady": f"{W}/steady", "silent": f"{W}/silent"}
        self.connects = {"doomed": f"ssl://localhost:{self.doomed.port}",
                         "steady": f"ssl://localhost:{self.steady.port}",
                         "silent": f"ssl://localhost:{self.silent.port}"}
        truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        text = p.config_xml([h.service_xml(n, "proxy", [self.urls[n]], [self.connects[n]])
                             for n in self.urls],
                            keystore=("keystore.db", "keystore.pw"),
                            truststore=os.path.relpath(truststore, self.dir))
        self.config = h.write_config(self.dir, text)
        self.gw = h.start_gateway(self.config, list(self.urls.values()),
                                  name="postern run (back-end faults)")

    def ctx(self):
        return h.client_ssl_context(cafile=self.pki.ca.cert)


setup = h.Fixture("PKI, three back-ends (two TLS echoes, one silent), gateway", Setup)


# --------------------------------------------------------------------------
# (b) a back-end killed mid-stream


class Killed:
    def __init__(self):
        s = setup.get()
        ctx = s.ctx()
        self.doomed = [f.Stream(f"doomed {i}") for i in range(PER_BACKEND)]
        self.steady = [f.Stream(f"steady {i}") for i in range(PER_BACKEND)]

        async def go():
            stop_steady = asyncio.Event()
            never = asyncio.Event()
            tasks = [asyncio.ensure_future(f.stream_echo(s.urls["doomed"], ctx, never, st,
                                                         p.Pattern(st.name), SIZES, pace=0.01))
                     for st in self.doomed]
            tasks += [asyncio.ensure_future(f.stream_echo(s.urls["steady"], ctx, stop_steady, st,
                                                          p.Pattern(st.name), SIZES, pace=0.01))
                      for st in self.steady]
            deadline = time.monotonic() + 20
            while any(st.n_got < 256 * KiB for st in self.doomed + self.steady):
                h.require(time.monotonic() < deadline,
                          "the clients did not all get 256 KiB echoed within 20 s: "
                          f"{self.doomed + self.steady}")
                await asyncio.sleep(0.05)
            self.steady_at_kill = [st.n_got for st in self.steady]
            self.killed_at = time.monotonic()
            s.doomed.kill()
            # the steady sessions keep going for a while after the kill
            await asyncio.sleep(3)
            stop_steady.set()
            await asyncio.gather(*tasks)

        h.arun(go(), 60)


killed = h.Fixture("10 streaming sessions, one back-end killed", Killed)


@T.case(f"back-end killed (SIGKILL) mid-stream: each of its {PER_BACKEND} clients gets "
        f"close 1011 within {KILL_BOUND:.0f} s")
def _():
    k = killed.get()
    for st in k.doomed:
        h.require(st.closed_at is not None, f"{st}: never closed")
        h.check_equal(st.close_code, 1011, f"{st.name}: close code received")
        took = st.closed_at - k.killed_at
        h.require(took < KILL_BOUND, f"{st.name}: 1011 came {took:.2f} s after the kill")
    sys.stdout.write("# 1011 after: " + " ".join(f"{st.closed_at - k.killed_at:.3f}"
                                                 for st in k.doomed) + " s\n")


@T.case("the other back-end's sessions are untouched: they go on after the kill, every byte "
        "echoed, close 1000, SHA-256 equal at client and back-end")
def _():
    s = setup.get()
    k = killed.get()
    for i, st in enumerate(k.steady):
        h.require(st.error is None, f"{st}")
        h.check_equal(st.close_code, 1000, f"{st.name}: close code")
        h.require(st.n_got > k.steady_at_kill[i], f"{st.name}: no byte echoed after the kill")
        h.check_equal((st.n_got, st.got.hexdigest()), (st.n_sent, st.sent.hexdigest()),
                      f"{st.name}: (bytes, SHA-256) echoed vs sent")
    want = sorted((str(st.n_sent), st.sent.hexdigest()) for st in k.steady)
    got = f.wait_until(lambda: len(s.steady.closed()) >= PER_BACKEND and s.steady.closed(), 10)
    h.require(got, f"the steady back-end saw {len(s.steady.closed())} connections end")
    h.check_equal(sorted(got), want, "(bytes, SHA-256) the steady back-end received")


@T.case("the killed back-end's sessions are logged with code 1011 and the back-end named")
def _():
    s = setup.get()
    killed.get()
    lines = f.wait_until(lambda: [l for l in p.stderr_lines(s.gw, lambda l: "close doomed " in l)
                                  if "code=1011" in l] or None, 5)
    h.require(lines and len(lines) == PER_BACKEND,
              f"expected {PER_BACKEND} 'close doomed … code=1011' lines, got: {lines}")
    for l in lines:
        h.require(f"backend={s.connects['doomed']}" in l, f"close line lacks the back-end: {l}")


# --------------------------------------------------------------------------
# (c) a back-end that accepts TCP and never speaks TLS


class Silent:
    def __init__(self):
        s = setup.get()
        ctx = s.ctx()
        self.echoes = []          # round-trip times on the steady service meanwhile
        self.rec = f.Stream("silent")

        async def victim():
            ws = h.import_websockets()
            async with h.ws_connect(s.urls["silent"], ctx, server_hostname="localhost") as c:
                self.opened = time.monotonic()
                try:
                    m = await asyncio.wait_for(c.recv(), CONNECT_DEADLINE + 10)
                    raise h.Fail(f"a message from a back-end that never spoke: {h.short(m)}")
                except ws.exceptions.ConnectionClosed:
                    pass
                self.rec.closed_at = time.monotonic()
                self.rec.close_code = c.close_rcvd.code if c.close_rcvd else None
                self.rec.close_reason = c.close_rcvd.reason if c.close_rcvd else None

        async def others():
            async with h.ws_connect(s.urls["steady"], ctx, server_hostname="localhost") as c:
                while self.rec.closed_at is None:
                    t0 = time.monotonic()
                    await h.echo_once(c, os.urandom(4096), timeout=5)
                    self.echoes.append(time.monotonic() - t0)
                    await asyncio.sleep(0.2)
                await h.close_cleanly(c)

        async def go():
            v = asyncio.ensure_future(victim())
            await asyncio.sleep(0.2)
            await asyncio.gather(v, others())

        h.arun(go(), CONNECT_DEADLINE + 25)


silent = h.Fixture("a client of the silent back-end, another session meanwhile", Silent)


@T.case(f"back-end that accepts TCP but never speaks TLS: the client gets 1011 at the "
        f"connect deadline ({CONNECT_DEADLINE:.0f} s), not before, not much later", timeout=60)
def _():
    sl = silent.get()
    h.check_equal(sl.rec.close_code, 1011, "close code received")
    took = sl.rec.closed_at - sl.opened
    sys.stdout.write(f"# 1011 after {took:.2f} s (reason {sl.rec.close_reason!r})\n")
    h.require(CONNECT_DEADLINE - 1 <= took <= CONNECT_DEADLINE + 3,
              f"1011 after {took:.2f} s; the connect deadline is {CONNECT_DEADLINE} s")


@T.case("the gateway kept serving another session while that back-end hung "
        "(an echo every 0.2 s, each within 1 s)")
def _():
    sl = silent.get()
    h.require(len(sl.echoes) >= CONNECT_DEADLINE * 2,
              f"only {len(sl.echoes)} echoes during the {CONNECT_DEADLINE} s wait")
    h.require(max(sl.echoes) < 1.0, f"slowest echo took {max(sl.echoes):.2f} s")
    sys.stdout.write(f"# {len(sl.echoes)} echoes, slowest {max(sl.echoes) * 1000:.0f} ms\n")


@T.case("the log names the silent back-end and says it did not complete the TLS handshake "
        "in time (not a certificate refusal, in the log or the close reason)")
def _():
    s = setup.get()
    silent.get()
    where = s.connects["silent"]
    line = p.wait_log(s.gw, lambda l: f"back-end {where}" in l, 5, f"naming back-end {where}")
    h.require(f"no TLS handshake within {CONNECT_DEADLINE:.0f} s" in line,
              f"the log line does not say the TLS handshake did not come in time: {line}")
    h.require("certificate" not in line, f"a timeout reported as a certificate problem: {line}")
    close = p.wait_log(s.gw, lambda l: "close silent " in l, 5, "'close silent'")
    h.require("code=1011" in close, f"close line lacks code=1011: {close}")
    h.require("certificate" not in close, f"a timeout reported as a certificate problem: {close}")
    sl = silent.get()
    h.require(sl.rec.close_reason and "certificate" not in sl.rec.close_reason,
              f"the client's close reason is {sl.rec.close_reason!r}")


@T.case("the gateway gave the silent back-end's connection up (the back-end saw it close)")
def _():
    s = setup.get()
    silent.get()
    h.require(f.wait_until(lambda: len(s.silent.closed()) >= 1, 5),
              "the silent back-end's connection is still open 5 s after the 1011")


T.run()
