#!/usr/bin/python3
# test_workers_ops.py: issue 10, the workers' operational gaps -- a worker
# restarted after the file was edited (without SIGHUP) serves what its
# siblings serve; a reload whose new workers never come up keeps the old
# listening sockets; the process figures of /metrics cover the master and
# every worker.  Real peers: python3-websockets clients, plain TCP
# connects, HTTP; a copy of the postern binary broken on purpose.
# SPDX-License-Identifier: Apache-2.0
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ops"))
import promtext  # noqa: E402
from opslib import h  # noqa: E402
from workerslib import (SLOW, SwappableBinary, children, echo_urls, http_get, reload,  # noqa: E402
                        spread_clients, start, status_echo_config, wait_children, wait_workers_up)

T = h.Tap(case_timeout=120)


def url_port(url):
    return int(url.rsplit(":", 1)[1].split("/")[0])


def restart_one(gw, kids, victim, status_url):
    """SIGKILL one worker; wait until its replacement accepts.  Returns the
    workers now."""
    os.kill(victim, signal.SIGKILL)
    h.require(gw.wait_stderr(lambda l: f"worker {victim} ended by signal 9" in l, 10 * SLOW) is not None,
              f"no 'worker {victim} ended by signal 9' line")
    now = wait_children(gw, 2, exclude=(victim,))
    wait_workers_up(status_url, 2)
    return now


async def every_worker_serves(gw, url, kids):
    """Two echo sessions held by each worker (a refused upgrade raises)."""
    by_worker = await spread_clients(gw, url, kids, per_worker=2)
    for v in by_worker.values():
        for c in v:
            await h.echo_once(c, "served")
            await h.close_cleanly(c)


async def refused(url, n=12):
    """n upgrades to url, each refused (404: no such route)."""
    ws = h.import_websockets()
    for i in range(n):
        try:
            async with h.ws_connect(url) as c:
                await c.close()
            raise h.Fail(f"upgrade {i + 1} to {url} was accepted: a worker serves a route its siblings do not")
        except ws.exceptions.InvalidStatusCode as e:
            h.check_equal(e.status_code, 404, f"status of upgrade {i + 1} to {url}")


def reload_to(gw, kids, status_url, url):
    """SIGHUP with a good file: two new workers replace `kids` and both
    serve `url`.  Returns them."""
    reload(gw)
    new = wait_children(gw, 2, exclude=kids)
    wait_workers_up(status_url, 2)
    h.arun(every_worker_serves(gw, url, new), 60)
    return new


def wait_refused_port(port, timeout=10.0 * SLOW):
    deadline = time.monotonic() + timeout
    while not h.nobody_accepts(port):
        h.require(time.monotonic() < deadline, f"port {port} still accepts connections after {timeout:.0f} s")
        time.sleep(0.1)


@T.case("a worker restarted after the file was edited without SIGHUP (made broken, then valid and "
        "different) serves the routes its sibling serves; SIGHUP then refuses the broken file and loads "
        "the valid one")
def _():
    d = T.tmpdir()
    config, status_url, ws_url, good = status_echo_config(d)
    moved_url = ws_url.replace("/echo", "/moved")
    moved = good.replace(ws_url, moved_url)
    with start(config, [status_url, ws_url], "--workers", "2", "--log-format", "json") as gw:
        kids = wait_children(gw, 2)
        # A broken file, no SIGHUP: the replacement of a killed worker
        # used to read it and die at start, again and again.
        with open(config, "w") as f:
            f.write("<gateway-config><service>\n")
        kids = restart_one(gw, kids, kids[0], status_url)
        h.arun(every_worker_serves(gw, ws_url, kids), 60)
        h.arun(refused(moved_url), 60)
        reload(gw, "reload failed")
        h.check_equal(children(gw.proc.pid), kids, "workers after the broken file's reload")
        # A valid, different file, no SIGHUP: a replacement used to serve
        # it beside a sibling serving the other one.
        h.write_config(d, moved)
        kids = restart_one(gw, kids, kids[1], status_url)
        h.arun(every_worker_serves(gw, ws_url, kids), 60)
        h.arun(refused(moved_url), 60)
        # SIGHUP: the valid file is loaded, by every new worker.
        reload_to(gw, kids, status_url, moved_url)
        h.arun(refused(ws_url), 60)
        gw.stop()


@T.case("a reload whose new workers never come up (their binary broken) keeps the old workers and the "
        "old listening sockets: the old port serves, the new one refuses connections; a worker restarted "
        "after it serves the old configuration; a good reload then moves to the new port")
def _():
    d = T.tmpdir()
    config, status_url, ws_url, good = status_echo_config(d)
    new_port = h.free_port()
    new_url = f"ws://127.0.0.1:{new_port}/echo"
    binary = SwappableBinary(d)
    with binary.start(config, [status_url, ws_url], "--workers", "2", "--log-format", "json") as gw:
        kids = wait_children(gw, 2)
        h.write_config(d, good.replace(ws_url, new_url))
        binary.break_()
        line = reload(gw, "reload failed")
        h.require("before accepting" in line, f"the failed reload does not say why: {line!r}")
        deadline = time.monotonic() + 10 * SLOW
        while children(gw.proc.pid) != kids:
            h.require(time.monotonic() < deadline, f"workers {children(gw.proc.pid)}, not the old {kids}")
            time.sleep(0.05)
        h.require(h.nobody_accepts(new_port),
                  f"port {new_port}, of the configuration that never started, accepts connections")
        h.arun(every_worker_serves(gw, ws_url, kids), 60)
        # A worker restarted now gets the sockets and the file in force.
        binary.restore()
        kids = restart_one(gw, kids, kids[0], status_url)
        h.arun(every_worker_serves(gw, ws_url, kids), 60)
        h.require(h.nobody_accepts(new_port), f"port {new_port} accepts connections after a restart")
        # A good reload: the new port, and the old one closes.
        reload_to(gw, kids, status_url, new_url)
        wait_refused_port(url_port(ws_url))
        gw.stop()


def proc_figures(pid):
    """(resident bytes, open fds, CPU s, waited-for children's CPU s) of a
    process, from /proc."""
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    tick = os.sysconf("SC_CLK_TCK")
    return rss, fds, (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def check_process_figures(fams, master, kids, owner):
    """The totals are the sums over the master and the workers, as /proc
    has them; the breakdown names each, with its pid."""
    want = {str(master): "master"}
    for pid in kids:
        want[str(pid)] = None   # worker-N, N checked below
    per = {}
    for name in ("postern_processes_resident_memory_bytes", "postern_processes_open_fds",
                 "postern_processes_cpu_seconds_total"):
        rows = promtext.series(fams, name)
        h.check_equal(sorted(l["pid"] for l, _ in rows), sorted(want), f"pids of {name}")
        for labels, v in rows:
            per.setdefault(labels["pid"], {})[name] = v
            if labels["pid"] == str(master):
                h.check_equal(labels["process"], "master", f"{name}: the master's label")
            else:
                h.require(labels["process"] in ("worker-1", "worker-2"),
                          f"{name}: worker {labels['pid']} labelled {labels['process']!r}")
    h.check_equal(promtext.value(fams, "postern_processes"), 3, "postern_processes")
    rss = {pid: proc_figures(int(pid)) for pid in want}
    total_rss = promtext.value(fams, "postern_process_resident_memory_bytes")
    proc_rss = sum(r[0] for r in rss.values())
    h.require(0.8 * proc_rss < total_rss < 1.2 * proc_rss,
              f"postern_process_resident_memory_bytes {total_rss}, the sum over /proc {proc_rss}")
    h.check_equal(total_rss, sum(p["postern_processes_resident_memory_bytes"] for p in per.values()),
                  "the RSS total against its breakdown")
    own = rss[str(owner)][0]
    h.require(total_rss > 2 * own, f"the RSS total {total_rss} is not much more than that of the worker "
                                   f"answering ({own}): it describes one process")
    total_fds = promtext.value(fams, "postern_process_open_fds")
    proc_fds = sum(r[1] for r in rss.values())
    h.require(abs(total_fds - proc_fds) <= 6, f"postern_process_open_fds {total_fds}, /proc has {proc_fds}")
    cpu = promtext.value(fams, "postern_process_cpu_seconds_total")
    proc_cpu = sum(r[2] for r in rss.values()) + rss[str(master)][3]
    h.require(cpu <= proc_cpu + 0.02, f"postern_process_cpu_seconds_total {cpu} > {proc_cpu} on /proc after it")
    h.require(cpu >= sum(p["postern_processes_cpu_seconds_total"] for p in per.values()) - 0.001,
              "the CPU total is less than its breakdown")


async def burn(gw, url, kids, victim, cpu_s, most_s):
    """Echo 256 KiB messages through the victim's clients until it used
    cpu_s more CPU seconds (or most_s went by)."""
    by_worker = await spread_clients(gw, url, kids, per_worker=1)
    payload = os.urandom(256 * 1024)
    start_cpu = proc_figures(victim)[2]
    deadline = time.monotonic() + most_s
    try:
        while proc_figures(victim)[2] - start_cpu < cpu_s and time.monotonic() < deadline:
            for c in by_worker[victim]:
                await h.echo_once(c, payload)
    finally:
        for v in by_worker.values():
            for c in v:
                await c.close()
    h._diag(f"worker {victim} used {proc_figures(victim)[2] - start_cpu:.2f} s CPU")


@T.case("/metrics with 2 workers: the postern_process_* totals are the sums over the master and every "
        "worker (as /proc has them) whichever worker answers; postern_processes_* give each process, "
        "labelled master / worker-N with its pid; a killed worker's CPU stays in the total")
def _():
    d = T.tmpdir()
    config, status_url, ws_url, good = status_echo_config(d)
    status_port = url_port(status_url)
    with start(config, [status_url, ws_url], "--workers", "2", "--log-format", "json") as gw:
        kids = wait_children(gw, 2)
        wait_workers_up(status_url, 2)
        h.arun(echo_urls([ws_url], n=20), 60)
        answered, n = set(), 0
        while n < 6 or len(answered - {None}) < 2:
            h.require(n < 60, f"60 scrapes all answered by one worker ({answered})")
            status, body, owner, _ = http_get(status_port, "/metrics", kids)
            h.check_equal(status, 200, "GET /metrics")
            h.require(owner in kids, f"scrape {n + 1}: answered by {owner}, not a worker of {kids}")
            answered.add(owner)
            fams = promtext.parse(body)
            check_process_figures(fams, gw.proc.pid, kids, owner)
            n += 1
        h._diag(f"{n} scrapes answered by workers {sorted(answered)}")
        # The victim burns some CPU first (at least 0.1 s, within 20 s):
        # without the master's waited-for children the total would drop
        # by that much.
        victim = kids[0]
        h.arun(burn(gw, ws_url, kids, victim, 0.1, 20), 60)
        _, body, _, _ = http_get(status_port, "/metrics", kids)
        before = promtext.value(promtext.parse(body), "postern_process_cpu_seconds_total")
        os.kill(victim, signal.SIGKILL)
        kids = wait_children(gw, 2, exclude=(victim,))
        wait_workers_up(status_url, 2)
        _, body, owner, _ = http_get(status_port, "/metrics", kids)
        fams = promtext.parse(body)
        after = promtext.value(fams, "postern_process_cpu_seconds_total")
        h.require(after >= before, f"postern_process_cpu_seconds_total went back from {before} to {after} "
                                   f"when worker {victim} was killed")
        check_process_figures(fams, gw.proc.pid, kids, owner)
        gw.stop()


if __name__ == "__main__":
    T.run()
