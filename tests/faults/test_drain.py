#!/usr/bin/python3
# test_drain.py: issue 11 item 8 (e) — SIGTERM with 20 transfers in flight,
# written against the drain's contract (DESIGN.md, issue 11): every byte a
# client sent before the signal reaches the back-end (byte for byte: what
# the back-end got is exactly a prefix of what the client sent, and no
# shorter than what was sent before the signal), each client gets close
# 1001, and the gateway exits 0 within the drain deadline (--drain-timeout,
# default 30 s).  A second SIGTERM stops a drain that cannot finish at once.
#
# The drain with --drain-timeout is built on another branch (ops-run).  On
# a gateway whose `postern run --help` has no --drain-timeout, a failure of
# the byte-delivery case is reported as "not ok … # TODO" (counted, shown,
# not failing the run) with the reason; with --drain-timeout it is a
# plain failure.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as f  # noqa: E402
from faultlib import h, p, KiB, MiB  # noqa: E402

T = h.Tap(case_timeout=90)

CLIENTS = 20
DRAIN_TIMEOUT = 20.0      # --drain-timeout given to the gateway (when it has one)
# The back-end reads at most 64 KiB per connection every SINK_PAUSE s (about
# 1.3 MB/s each): what the clients send faster is still queued in the
# gateway and the sockets at SIGTERM, for the drain to deliver.
SINK_PAUSE = 0.05
SEND_BEFORE = 0.3         # seconds of sending (once all are sending) before SIGTERM
PER_CLIENT = 3 * MiB      # a client's transfer
MIN_IN_FLIGHT = 4 * MiB   # sent but not yet read by the back-end at SIGTERM, all clients
SIZES = [64 * KiB, 7, 16 * KiB, 125, 65537, 1000, 200 * KiB]


def has_drain_timeout():
    r = h.run_postern(["run", "--help"])
    return "--drain-timeout" in r.stdout + r.stderr


class Sender:
    """One client: sends until the gateway closes it; every prefix it may
    have put on the wire is a candidate for what the back-end received."""

    def __init__(self, name):
        self.name = name
        self.sha = hashlib.sha256()
        self.n = 0
        self.at_signal = None
        self.candidates = {(0, self.sha.hexdigest())}
        self.close_code = None
        self.error = None

    def __repr__(self):
        return (f"{self.name}: sent {self.n} ({self.at_signal} before SIGTERM), "
                f"close {self.close_code}, error {self.error}")


async def send_until_closed(uri, ctx, rec, pattern, limit=PER_CLIENT):
    ws = h.import_websockets()
    try:
        async with h.ws_connect(uri, ctx, server_hostname="localhost") as c:
            i = 0
            while rec.n < limit:
                piece = pattern.chunk(i, SIZES[i % len(SIZES)])
                nxt = rec.sha.copy()
                nxt.update(piece)
                # on the wire once send() has written it, even if it then fails
                rec.candidates.add((rec.n + len(piece), nxt.hexdigest()))
                try:
                    await c.send(piece)
                except ws.exceptions.ConnectionClosed:
                    break
                rec.sha = nxt
                rec.n += len(piece)
                i += 1
            # all sent: wait for the gateway's close (1001 at SIGTERM)
            await asyncio.wait_for(c.wait_closed(), DRAIN_TIMEOUT + 20)
            rec.close_code = c.close_rcvd.code if c.close_rcvd else c.close_code
    except Exception as e:  # noqa: BLE001 - judged by the cases
        rec.error = f"{type(e).__name__}: {e}"


class Setup:
    def __init__(self, stall=False):
        self.dir = T.tmpdir("postern-faults-")
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki, method="openssl")
        self.sink = f.Backend("sink", cert=self.pki.server("localhost"), name="tls-sink",
                              pause=60.0 if stall else SINK_PAUSE)
        T.add_cleanup(self.sink.kill)
        self.port = h.free_port()
        self.url = f"wss://localhost:{self.port}/sink"
        truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        text = p.config_xml([h.service_xml("sink", "proxy", [self.url],
                                           [f"ssl://localhost:{self.sink.port}"])],
                            keystore=("keystore.db", "keystore.pw"),
                            truststore=os.path.relpath(truststore, self.dir))
        self.config = h.write_config(self.dir, text)
        self.drain_option = has_drain_timeout()
        extra = ["--drain-timeout", str(int(DRAIN_TIMEOUT))] if self.drain_option else []
        self.gw = h.Gateway(self.config, name="postern run (drain)", extra_args=extra).start()
        try:
            self.gw.wait_listening(1)
        except BaseException:
            self.gw.kill()
            raise
        # without --drain-timeout: the fixed grace of the gateway on main (3 s)
        self.deadline = DRAIN_TIMEOUT if self.drain_option else 3.0


class Drain:
    def __init__(self):
        s = self.s = setup.get()
        ctx = h.client_ssl_context(cafile=s.pki.ca.cert)
        self.senders = [Sender(f"client {i}") for i in range(CLIENTS)]

        async def go():
            tasks = [asyncio.ensure_future(send_until_closed(s.url, ctx, r, p.Pattern(r.name)))
                     for r in self.senders]
            # every client open and sending, then SEND_BEFORE more
            deadline = time.monotonic() + 30
            while any(r.n < 64 * KiB and r.error is None for r in self.senders):
                h.require(time.monotonic() < deadline,
                          f"the clients did not all start sending within 30 s: {self.senders}")
                await asyncio.sleep(0.02)
            await asyncio.sleep(SEND_BEFORE)
            for r in self.senders:
                r.at_signal = r.n
            self.sink_at_signal = s.sink.total()
            self.signalled = time.monotonic()
            s.gw.signal(signal.SIGTERM)
            await asyncio.gather(*tasks)

        h.arun(go(), 60)
        self.rc = s.gw.wait_exit(s.deadline + 5)
        self.exit_after = time.monotonic() - self.signalled
        if self.rc is None:
            s.gw.kill()
        self.closed = f.wait_until(lambda: len(s.sink.closed()) >= CLIENTS and s.sink.closed(), 10) \
            or s.sink.closed()


setup = h.Fixture("PKI, a slow TLS sink back-end, the gateway", Setup)
drain = h.Fixture(f"{CLIENTS} clients sending, SIGTERM after {SEND_BEFORE} s", Drain)


class CaseName:
    """A case name whose TAP line gets a "# TODO reason" directive when the
    case failed for want of the drain (Tap formats the name after the
    case ran)."""

    todos = 0

    def __init__(self, text):
        self.text = text
        self.todo = None

    def __format__(self, spec):
        return self.text + (f" # TODO {self.todo}" if self.todo else "")


def needs_drain(text):
    """Register a case that needs the drain with --drain-timeout: on a
    gateway without that option its failure is a TODO, shown and kept in
    the diagnostics but not counted (summary.py, meson: expected fail)."""
    name = CaseName(text)

    def register(fn):
        def run():
            try:
                fn()
            except h.Fail as e:
                if not has_drain_timeout():
                    CaseName.todos += 1
                    name.todo = ("the drain with --drain-timeout (branch ops-run) is not on "
                                 "this gateway yet")
                    raise h.Fail(f"{e}\n(TODO: {name.todo})") from None
                raise
        T.case(name)(run)
        return fn
    return register


@T.case(f"SIGTERM with {CLIENTS} transfers in flight: each client gets close 1001")
def _():
    d = drain.get()
    in_flight = sum(r.at_signal for r in d.senders) - d.sink_at_signal
    h.require(in_flight >= MIN_IN_FLIGHT,
              f"only {in_flight} bytes were in flight at SIGTERM (sent, not yet read by the "
              f"back-end); the test needs {MIN_IN_FLIGHT} to mean something")
    bad = [r for r in d.senders if r.close_code != 1001 or r.error]
    h.require(not bad, f"{len(bad)} clients without a clean 1001:\n" + "\n".join(map(repr, bad)))


def delivered():
    d = drain.get()
    h.require(all(r.at_signal > 0 for r in d.senders),
              f"a client had sent nothing before SIGTERM: {d.senders}")
    got = list(d.closed)
    h.check_equal(len(got), CLIENTS, "back-end connections that ended")
    missing = []
    for r in d.senders:
        match = [g for g in got if (int(g[0]), g[1]) in r.candidates]
        if not match:
            missing.append(r)
            continue
        got.remove(match[0])
        h.require(int(match[0][0]) >= r.at_signal,
                  f"{r.name}: the back-end got {match[0][0]} bytes, fewer than the "
                  f"{r.at_signal} sent before SIGTERM")
    h.require(not missing, f"{len(missing)} clients' bytes are not an exact prefix at the "
                           f"back-end: {missing}; back-end got {got}")
    sys.stdout.write(f"# {sum(r.at_signal for r in d.senders)} bytes sent before SIGTERM, "
                     f"{d.sink_at_signal} of them read by the back-end then, "
                     f"{sum(int(g[0]) for g in d.closed)} in the end\n")


needs_drain("every byte sent before SIGTERM reached the back-end, byte for byte (the back-end's "
            "SHA-256 is that of a prefix of the client's stream, no shorter than before the "
            "signal)")(delivered)


@T.case("the gateway exits 0 within the drain deadline")
def _():
    d = drain.get()
    sys.stdout.write(f"# exit {d.rc} {d.exit_after:.2f} s after SIGTERM "
                     f"(deadline {d.s.deadline:.0f} s)\n")
    h.check_equal(d.rc, 0, "exit status after SIGTERM")
    h.require(d.exit_after <= d.s.deadline + 1,
              f"exited {d.exit_after:.2f} s after SIGTERM; deadline {d.s.deadline} s")


@needs_drain("a second SIGTERM ends a drain that cannot finish (back-end not reading) at once")
def second_sigterm():
    s = Setup(stall=True)
    ctx = h.client_ssl_context(cafile=s.pki.ca.cert)
    rec = Sender("stalled")

    async def go():
        # far more than the gateway and the kernel can hold for a back-end
        # that does not read: the drain cannot finish
        t = asyncio.ensure_future(send_until_closed(s.url, ctx, rec, p.Pattern("stall"),
                                                    limit=256 * MiB))
        await asyncio.sleep(1.0)
        s.gw.signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        h.require(s.gw.running(), "the gateway exited at the first SIGTERM although "
                                  "the back-end had not read what it was sent")
        t0 = time.monotonic()
        s.gw.signal(signal.SIGTERM)
        rc = await asyncio.get_running_loop().run_in_executor(None, s.gw.wait_exit, 5)
        took = time.monotonic() - t0
        t.cancel()
        return rc, took

    rc, took = h.arun(go(), 30)
    h.require(rc is not None, "still running 5 s after the second SIGTERM")
    h.require(took < 1.0, f"exited {took:.2f} s after the second SIGTERM")
    sys.stdout.write(f"# exit {rc}, {took * 1000:.0f} ms after the second SIGTERM\n")


try:
    T.run()
except SystemExit as e:
    # TODO cases are reported "not ok … # TODO" and not counted as failures
    if e.code == 1 and T.failed == CaseName.todos:
        sys.exit(0)
    raise
