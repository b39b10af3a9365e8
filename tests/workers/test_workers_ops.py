#!/usr/bin/python3
# test_workers_ops.py: issue 10, the workers' operational gaps -- a worker
# restarted after the file was edited (without SIGHUP) serves what its
# siblings serve; a reload whose new workers never come up keeps the old
# listening sockets.  Real peers: python3-websockets clients, plain TCP
# connects, HTTP; a copy of the postern binary broken on purpose.
# SPDX-License-Identifier: Apache-2.0
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ops"))
from opslib import h  # noqa: E402
from workerslib import (SLOW, SwappableBinary, children, reload, spread_clients, start,  # noqa: E402
                        status_echo_config, wait_children, wait_workers_up)

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
        reload(gw)
        new = wait_children(gw, 2, exclude=kids)
        wait_workers_up(status_url, 2)
        h.arun(every_worker_serves(gw, moved_url, new), 60)
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
        reload(gw)
        new = wait_children(gw, 2, exclude=kids)
        wait_workers_up(status_url, 2)
        h.arun(every_worker_serves(gw, new_url, new), 60)
        wait_refused_port(url_port(ws_url))
        gw.stop()


if __name__ == "__main__":
    T.run()
