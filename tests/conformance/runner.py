# runner.py: runs the conformance cases against one target of a live
# gateway -- each case in every send mode, judged against RFC 6455, then a
# liveness check -- concurrently, and pins any gateway crash on its case.
# SPDX-License-Identifier: Apache-2.0
"""Judging and scheduling.

Cases run CONCURRENCY at a time, each case's send modes in parallel, so the
cases a broken gateway leaves hanging cost their waits once, not one after
the other.  When the gateway process dies, every case that was in flight is
a suspect: the gateway is restarted and the suspects are run again in
halves until the case that kills it is alone (a bisection), so a crash is
reported against the case that causes it and nowhere else.
"""

import concurrent.futures
import os
import signal
import threading
import time

import harness as h
import wsraw as w

# cases at a time (each with up to 3 connections at once, plus liveness);
# CONFORMANCE_CONCURRENCY overrides it, e.g. 1 to rule load out
CONCURRENCY = int(os.environ.get("CONFORMANCE_CONCURRENCY", "16"))
EVENT_WAIT = 3.0       # for each expected answer from the gateway
EOF_WAIT = 2.0         # TCP closed after the closing handshake
ALIVE_WAIT = 3.0


def show(ev):
    kind = ev[0]
    if kind in ("text", "binary", "ping", "pong"):
        return f"{kind}({len(ev[1])}: {h.short(ev[1], 40)})"
    if kind == "close":
        reason = f" {h.short(ev[2], 40)}" if ev[2] else ""
        return f"close {ev[1] if ev[1] is not None else '(no code)'}{reason}"
    if kind == "timeout":
        return f"nothing within {ev[1]:g} s" if ev[1] else "nothing (TCP closed)"
    return f"{kind} {ev[1]}"


def shows(events):
    return ", ".join(show(e) for e in events) or "nothing"


class Judged(Exception):
    """A mode's verdict: the gateway did not do what RFC 6455 says."""


def collect(conn, satisfied, start=0):
    """Events from index `start` until the gateway's close frame, TCP close,
    a timeout, or satisfied(events) for an echo case.  Returns (events,
    terminal); terminal is None when satisfied."""
    got = []
    while True:
        ev = conn.next_event(start + len(got), EVENT_WAIT)
        if ev[0] == "bad":
            raise Judged(f"the gateway broke the protocol: {ev[1]}; before: {shows(got)}")
        if ev[0] in ("close", "eof", "timeout"):
            return got, ev
        got.append(ev)
        if satisfied is not None and satisfied(got):
            return got, None


def match(case, got):
    """None if got (events before the terminal) is what the case expects,
    else why not."""
    if case.pongs == "last":
        pings = [p for k, p in case.expect if k == "pong"]
        pongs = [p for k, p in got if k == "pong"]
        rest = [e for e in got if e[0] != "pong"]
        want = [e for e in case.expect if e[0] != "pong"]
        if not pongs or pongs[-1] != pings[-1]:
            return f"expected pongs ending with {h.short(pings[-1])}, got {shows(got)}"
        it = iter(pings)
        if not all(any(p == q for q in it) for p in pongs):
            return f"pongs are not the pings' payloads in order: {shows(got)}"
        return None if rest == want else f"expected {shows(want)}, got {shows(rest)}"
    if case.pongs == "any":
        # a proxy answers pings itself while data makes a round trip
        def split(evs):
            return ([e for e in evs if e[0] == "pong"], [e for e in evs if e[0] != "pong"])
        if split(got) != split(case.expect):
            return f"expected {shows(case.expect)} (pongs anywhere), got {shows(got)}"
        return None
    if got != case.expect:
        return f"expected {shows(case.expect)}, got {shows(got)}"
    return None


def satisfier(case):
    if case.pongs == "last":
        last = [p for k, p in case.expect if k == "pong"][-1]
        ndata = sum(1 for k, _ in case.expect if k != "pong")
        return lambda got: (sum(1 for e in got if e[0] != "pong") >= ndata
                            and any(e == ("pong", last) for e in got))
    n = len(case.expect)
    return lambda got: len(got) >= n


def expect_tcp_close(conn, after, start):
    """After the closing handshake (events from `start` on): nothing but
    TCP's close, within EOF_WAIT."""
    closed = conn.wait_closed(EOF_WAIT)
    extra = [e for e in conn.events[start:] if e[0] != "eof"]
    if extra:
        raise Judged(f"{after}, the gateway still sent: {shows(extra)}")
    if not closed:
        raise Judged(f"{after}, TCP was still open {EOF_WAIT:g} s later "
                     "(the server must close the connection)")


def judge(conn, case):
    if case.outcome == "echo":
        got, term = collect(conn, satisfier(case))
        why = match(case, got)
        if why or term is not None:
            end = f"; then {show(term)}" if term is not None else ""
            raise Judged((why or f"got {shows(got)}") + end)
        conn.send_close(1000)
        more, term = collect(conn, None, len(got))
        if more:
            raise Judged(f"echo right, but then unexpected {shows(more)}")
        if term[0] != "close":
            raise Judged(f"echo right; after the client's close 1000: {show(term)}, "
                         "no close frame")
        if term[1] != 1000:
            raise Judged(f"echo right; client's close 1000 answered with {show(term)}")
        expect_tcp_close(conn, "after close 1000 both ways", len(got) + len(more) + 1)
        return
    got, term = collect(conn, None)
    why = match(case, got)
    if why and not got:
        # The echo of a valid message sent before the bad frame (or before
        # the close) is the application's; an endpoint may fail at once
        # (RFC 6455 7.1.7), e.g. a proxy before its back-end's echo returns.
        # Autobahn grades this "non-strict", not failed.
        why = None
    if case.outcome == "fail":
        wanted = f"close {case.code}"
        ok = term[0] == "close" and term[1] == case.code
    else:
        wanted = " or ".join("close (no code)" if c is None else f"close {c}"
                             for c in sorted(case.codes, key=lambda c: c or 0))
        ok = term[0] == "close" and term[1] in case.codes
    if why or not ok:
        before = f"{why}; " if why else (f"after {shows(got)}: " if got else "")
        raise Judged(f"{before}expected {wanted}, got {show(term)}")
    if case.outcome == "fail":
        conn.send_close(case.code)   # a real client answers; it may be gone
        expect_tcp_close(conn, f"after {wanted} and the client's reply", len(got) + 1)
    else:
        expect_tcp_close(conn, f"after {wanted}", len(got) + 1)


class Target:
    def __init__(self, name, port, path, limited_port, limited_path, ssl_ctx):
        self.name = name
        self.port, self.path = port, path
        self.limited_port, self.limited_path = limited_port, limited_path
        self.ssl_ctx = ssl_ctx

    def connect(self, limited=False):
        if limited:
            return w.Conn(self.limited_port, self.limited_path, self.ssl_ctx)
        return w.Conn(self.port, self.path, self.ssl_ctx)


class GatewayBox:
    """The gateway process, restarted (same config, same ports) after a
    crash; `generation` counts the restarts."""

    def __init__(self, config, urls, name):
        self.config, self.urls, self.name = config, urls, name
        self.lock = threading.Lock()
        self.generation = 0
        self.gw = self._start()

    def _start(self):
        gw = h.start_gateway(self.config, self.urls, name=self.name)
        gw._forget()   # the Tap would print its log at every failed case
        return gw

    def dead(self):
        return not self.gw.running()

    def death(self):
        """How the last process ended, for the report."""
        rc = self.gw.proc.poll()
        if rc is None:
            return "still running"
        how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited {rc}"
        with self.gw.cond:
            tail = self.gw.stderr[-4:]
        return how + "".join(f"\n  stderr| {line}" for line in tail)

    def ensure(self):
        with self.lock:
            if self.dead():
                self.gw.kill()
                self.gw = self._start()
                self.generation += 1
            return self.generation

    def stop(self):
        self.gw.kill()


def run_mode(target, case, mode):
    try:
        conn = target.connect(case.limited)
    except Exception as e:  # noqa: BLE001
        return f"{mode}: could not open the WebSocket: {type(e).__name__}: {e}"
    try:
        conn.send_blob(case.blob, mode)
        judge(conn, case)
        return None
    except Judged as e:
        extra = f" (client send stopped: {conn.send_error})" if conn.send_error else ""
        return f"{mode}: {e}{extra}"
    except Exception as e:  # noqa: BLE001
        return f"{mode}: client error {type(e).__name__}: {e}"
    finally:
        conn.close()


def alive(target, box, cid):
    """None if a new connection to the target echoes; else why not."""
    msg = f"alive after {cid}".encode()
    try:
        conn = target.connect()
    except Exception as e:  # noqa: BLE001
        why = f"{type(e).__name__}: {e}"
    else:
        try:
            conn.send_blob(w.frame(w.TEXT, msg))
            ev = conn.next_event(0, ALIVE_WAIT)
            if ev == ("text", msg):
                conn.send_close(1000)
                conn.wait_closed(0.5)
                return None
            why = f"sent text, got {show(ev)}"
        finally:
            conn.close()
    deadline = time.monotonic() + 1.0   # let a dying process be seen as dead
    while not box.dead() and time.monotonic() < deadline:
        time.sleep(0.05)
    state = f"gateway {box.death()}" if box.dead() else "the gateway process is running"
    return f"after the case, a new connection did not echo ({why}); {state}"


def run_case(target, box, case):
    """[errors] for one case: every mode, concurrently, then liveness."""
    modes = case.modes()
    with concurrent.futures.ThreadPoolExecutor(len(modes)) as pool:
        results = list(pool.map(lambda m: run_mode(target, case, m), modes))
    errors = [r for r in results if r]
    why = alive(target, box, case.cid)
    if why:
        errors.append(why)
    return errors


class TargetRun:
    """Every case against one target; results[cid] = [errors] (empty: ok),
    took[cid] = seconds of its last run."""

    def __init__(self, target, box, cases, budget):
        self.target, self.box, self.cases = target, box, cases
        self.deadline = time.monotonic() + budget
        self.results = {}
        self.durations = {}
        self.crashes = 0
        self.took = 0.0
        t0 = time.monotonic()
        suspects = self._first_pass()
        for group in suspects:
            self._settle(group)
        self.took = time.monotonic() - t0

    def _timed(self, case):
        t0 = time.monotonic()
        errors = run_case(self.target, self.box, case)
        self.durations[case.cid] = time.monotonic() - t0
        return errors

    def _one(self, case):
        gen = self.box.ensure()
        errors = self._timed(case)
        crashed = self.box.dead() or self.box.generation != gen
        return errors, gen if crashed else None

    def _first_pass(self):
        groups = {}
        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            futures = {pool.submit(self._one, c): c for c in self.cases}
            for f in concurrent.futures.as_completed(futures):
                case = futures[f]
                errors, crash_gen = f.result()
                if crash_gen is None:
                    self.results[case.cid] = errors
                else:
                    groups.setdefault(crash_gen, []).append(case)
        return list(groups.values())

    def _settle(self, group):
        """Run a group of suspects together; on a crash, halve and retry."""
        self.box.ensure()
        if time.monotonic() > self.deadline:
            names = ", ".join(c.cid for c in group)
            for c in group:
                self.results[c.cid] = [f"the gateway died while {names} ran; out of time "
                                       "to tell which case killed it"]
            return
        gen = self.box.generation
        with concurrent.futures.ThreadPoolExecutor(len(group)) as pool:
            outcomes = list(pool.map(self._timed, group))
        crashed = self.box.dead() or self.box.generation != gen
        if not crashed:
            for c, errors in zip(group, outcomes):
                self.results[c.cid] = errors
            return
        if len(group) == 1:
            self.crashes += 1
            # give the exit status time to show
            for _ in range(20):
                if self.box.dead():
                    break
                time.sleep(0.05)
            self.results[group[0].cid] = ([f"THE GATEWAY PROCESS DIED on this case: "
                                           f"{self.box.death()}"] + outcomes[0])
            self.box.ensure()
            return
        half = len(group) // 2
        self._settle(group[:half])
        self._settle(group[half:])
