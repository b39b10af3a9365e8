#!/usr/bin/python3
# test_systemd.py: issue 11 item 3 -- the systemd unit (checked by
# systemd-analyze verify), sd_notify over a NOTIFY_SOCKET the test binds
# (READY=1, RELOADING=1, STOPPING=1 in order), and socket activation under
# the real systemd-socket-activate: echo through the inherited sockets, a
# socket that matches no accept URL, and a restart that keeps the socket.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402
from opslib import h  # noqa: E402

T = h.Tap(case_timeout=90)
SOCKET_ACTIVATE = "/usr/bin/systemd-socket-activate"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"


def build_dir():
    # POSTERN is BUILD/gateway/postern
    return os.path.dirname(os.path.dirname(h.postern_path()))


def two_port_echo(directory):
    ports = h.free_ports(2)
    urls = [f"ws://127.0.0.1:{port}/echo" for port in ports]
    config = h.write_config(directory, h.config_xml([h.service_xml("echo", "echo", urls)]))
    return config, urls, ports


async def echo_all(urls, ctx=None, message="ping"):
    for url in urls:
        async with h.ws_connect(url, ssl_ctx=ctx) as ws:
            await h.echo_once(ws, f"{message} {url}")
            await h.close_cleanly(ws)


@T.case("systemd-analyze verify accepts data/postern.service and data/postern.socket, "
        "and the unit has what a notify service needs")
def _():
    tool = h.require_tool("systemd-analyze", SYSTEMD_ANALYZE)
    d = T.tmpdir()
    with open(os.path.join(build_dir(), "data", "postern.service")) as f:
        unit = f.read()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                 "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"):
        h.require(re.search(rf"^{re.escape(line)}$", unit, re.M), f"postern.service lacks {line}")
    h.require(re.search(r"^ReadWritePaths=/\S+/postern$", unit, re.M),
              "postern.service has no ReadWritePaths= for the config folder")
    # verify checks that ExecStart= is executable: point it at this build's
    # binary (the installed path does not exist before `meson install`).
    m = re.search(r"^ExecStart=(\S+) ", unit, re.M)
    h.require(m, "no ExecStart= line")
    unit = unit.replace(m.group(1), h.postern_path())
    with open(os.path.join(d, "postern.service"), "w") as f:
        f.write(unit)
    with open(os.path.join(h.source_dir(), "data", "postern.socket")) as f:
        sock_unit = f.read()
    with open(os.path.join(d, "postern.socket"), "w") as f:
        f.write(sock_unit)
    r = h.run_tool([tool, "verify", os.path.join(d, "postern.service"), os.path.join(d, "postern.socket")])
    h.require(r.returncode == 0 and not r.stderr.strip(),
              f"systemd-analyze verify: exit {r.returncode}: {r.stdout}{r.stderr}")
    # …and it does find faults: a misspelt directive fails the same check.
    with open(os.path.join(d, "broken.service"), "w") as f:
        f.write(unit.replace("Type=notify", "Type=notfiy"))
    r = h.run_tool([tool, "verify", os.path.join(d, "broken.service")])
    h.require(r.returncode != 0 or "notfiy" in r.stderr,
              f"systemd-analyze verify did not flag Type=notfiy: {r.returncode} {r.stderr}")


def notify_run(abstract):
    d = T.tmpdir()
    config, urls, ports = two_port_echo(d)
    notify = opslib.NotifySocket(d, abstract=abstract)
    T.add_cleanup(notify.close)
    gw = h.Gateway(config, name="postern run (notify)",
                   env={"NOTIFY_SOCKET": notify.env_value}).start()
    try:
        ready = notify.wait_for("READY", "1")
        # Bound before READY=1: both ports accept at once.
        for port in ports:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.close()
        h.check_equal(len(gw.wait_listening(2)), 2, "'listening on' lines")
        h.check_equal(sum(1 for m in notify.describe() if m.get("READY") == "1"), 1,
                      "READY=1 messages before any reload")
        return gw, notify, urls, ready
    except BaseException:
        gw.kill()
        raise


@T.case("fake NOTIFY_SOCKET (a path): READY=1 once listening, RELOADING=1 with "
        "MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, in that order")
def _():
    gw, notify, urls, ready = notify_run(abstract=False)
    with gw:
        h.arun(echo_all(urls), 20)
        before_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        gw.signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING", "1", after=ready + 1)
        fields = notify.describe()[reloading]
        usec = fields.get("MONOTONIC_USEC", "")
        h.require(usec.isdigit(), f"RELOADING=1 without MONOTONIC_USEC: {fields}")
        after_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        h.require(before_us <= int(usec) <= after_us,
                  f"MONOTONIC_USEC={usec} is not CLOCK_MONOTONIC between {before_us} and {after_us}")
        ready2 = notify.wait_for("READY", "1", after=reloading)
        h.require("STATUS" in notify.describe()[ready2], "no STATUS= with READY=1 after the reload")
        h.arun(echo_all(urls, message="after reload"), 20)
        gw.signal(signal.SIGTERM)
        stopping = notify.wait_for("STOPPING", "1", after=ready2 + 1)
        h.require(ready < reloading < ready2 < stopping, f"order: {notify.describe()}")
        rc = gw.wait_exit(h.STOP_TIMEOUT)
        h.check_equal(rc, 0, "exit status after SIGTERM")


@T.case("fake NOTIFY_SOCKET (abstract @name): READY=1, a failed reload says so with "
        "READY=1 and STATUS=, STOPPING=1")
def _():
    gw, notify, urls, ready = notify_run(abstract=True)
    with gw:
        # Break the config: the reload fails, the old one keeps serving.
        with open(gw.config, "a") as f:
            f.write("<oops")
        gw.signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING", "1", after=ready + 1)
        ready2 = notify.wait_for("READY", "1", after=reloading)
        status = notify.describe()[ready2].get("STATUS", "")
        h.require("reload failed" in status, f"STATUS after a failed reload: {status!r}")
        h.arun(echo_all(urls, message="still serving"), 20)
        gw.signal(signal.SIGTERM)
        notify.wait_for("STOPPING", "1", after=ready2 + 1)
        h.check_equal(gw.wait_exit(h.STOP_TIMEOUT), 0, "exit status after SIGTERM")


class Activated:
    """ws:// and wss:// echo accepts on two ports that
    systemd-socket-activate binds and hands over."""

    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.ws_port, self.wss_port, self.extra_port = h.free_ports(3)
        self.config, self.urls = h.echo_config(self.dir, self.keystore, ws_port=self.ws_port,
                                               wss_port=self.wss_port, host="127.0.0.1")

    def ctx(self):
        return self.keystore.client_context()


activated = h.Fixture("keystore and config for socket activation", Activated)


def socket_activate(config, argv_tail, listen, names=None, name="systemd-socket-activate"):
    tool = h.require_tool("systemd-socket-activate", SOCKET_ACTIVATE)
    argv = [tool]
    for addr in listen:
        argv += ["-l", addr]
    if names:
        argv += [f"--fdname={':'.join(names)}"]
    # config: where the harness keeps the log when a case fails (its folder)
    gw = h.Gateway(config, name=name)
    gw.argv = argv + argv_tail
    gw.start()
    # It binds, says "Listening on ADDR as FD." for each, then waits for
    # the first connection before it starts the command.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with gw.cond:
            bound = sum(1 for l in gw.stderr if l.startswith("Listening on "))
        if bound == len(listen):
            return gw
        time.sleep(0.02)
    gw.kill()
    raise h.Fail(f"systemd-socket-activate did not bind {listen} within 10 s:\n{gw.describe()}")


@T.case("under systemd-socket-activate: ws:// and wss:// echo through the two inherited "
        "sockets (the ports were bound before postern started: it binds nothing itself)")
def _():
    a = activated.get()
    gw = socket_activate(a.config, [h.postern_path(), "run", "--config", a.config],
                         [f"127.0.0.1:{a.ws_port}", f"127.0.0.1:{a.wss_port}"], names=["ws", "wss"])
    with gw:
        # The first connection makes systemd-socket-activate start postern;
        # it waits in the socket's queue meanwhile.
        h.arun(echo_all([a.urls[0]]), 30)
        h.check_equal(sorted(gw.wait_listening(2)), sorted(a.urls), "'listening on' lines")
        h.arun(echo_all([a.urls[1]], ctx=a.ctx()), 30)
        h.arun(echo_all(a.urls, ctx=a.ctx(), message="again"), 30)
        h.require(not any("cannot listen" in l for l in gw.stderr), "\n".join(gw.stderr))
        gw.stop()


@T.case("an inherited socket that matches no accept URL: exit 1, and the error names "
        "it (descriptor name and address) and says what to do")
def _():
    a = activated.get()
    gw = socket_activate(a.config, [h.postern_path(), "run", "--config", a.config],
                         [f"127.0.0.1:{a.ws_port}", f"127.0.0.1:{a.wss_port}",
                          f"127.0.0.1:{a.extra_port}"], names=["ws", "wss", "stray"])
    with gw:
        try:
            s = socket.create_connection(("127.0.0.1", a.ws_port), timeout=5)
            s.close()
        except OSError as e:
            raise h.Fail(f"connect to trigger activation: {e}")
        rc = gw.wait_exit(h.BAD_CONFIG_TIMEOUT + 5)
        h.check_equal(rc, 1, f"exit status\n{gw.describe()}")
        err = "\n".join(gw.stderr)
        h.require(f"127.0.0.1:{a.extra_port}" in err and "(stray)" in err and "accept URL" in err,
                  f"the error does not name the stray socket:\n{err}")


RESTART_GAP = 2.0
WRAPPER = """#!/bin/sh
# Runs the command twice on the inherited sockets, as systemd restarts a
# service whose .socket unit holds them; pid.N is each run's pid.
dir=$1; shift
n=0
while [ $n -lt 2 ]; do
  n=$((n + 1))
  /bin/sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && LISTEN_PID=$$ exec "$@"' "$dir/pid.$n" "$@"
  sleep {gap}
done
"""


@T.case("a restart keeps the socket: 5 clients that connect while no gateway runs are "
        "queued and served by the next one")
def _():
    a = activated.get()
    d = T.tmpdir()
    wrapper = os.path.join(d, "restart.sh")
    with open(wrapper, "w") as f:
        f.write(WRAPPER.replace("{gap}", str(RESTART_GAP)))
    gw = socket_activate(a.config, ["/bin/sh", wrapper, d, h.postern_path(), "run", "--config", a.config],
                         [f"127.0.0.1:{a.ws_port}", f"127.0.0.1:{a.wss_port}"])
    with gw:
        h.arun(echo_all([a.urls[0]]), 30)
        pid1 = int(opslib.wait_file(os.path.join(d, "pid.1"), 10, "first run"))
        gw.wait_listening(2)
        os.kill(pid1, signal.SIGTERM)
        deadline = time.monotonic() + h.STOP_TIMEOUT
        while opslib.pid_alive(pid1) and time.monotonic() < deadline:
            time.sleep(0.02)
        h.require(not opslib.pid_alive(pid1), f"first postern (pid {pid1}) still running")
        h.require(not os.path.exists(os.path.join(d, "pid.2")), "restarted too early for the test")

        async def queued():
            ws = h.import_websockets()
            conns = []
            for i in range(5):
                conns.append(asyncio.ensure_future(
                    ws.connect(a.urls[i % 2], ssl=a.ctx() if i % 2 else None,
                               open_timeout=RESTART_GAP + 15, ping_interval=None)))
            await asyncio.sleep(0.2)
            # All five were made (TCP) while no gateway process ran.
            h.require(not os.path.exists(os.path.join(d, "pid.2")),
                      "the next gateway started before the clients connected")
            served = 0
            for i, fut in enumerate(conns):
                conn = await fut
                await h.echo_once(conn, f"queued {i}")
                await h.close_cleanly(conn)
                served += 1
            return served

        h.check_equal(h.arun(queued(), RESTART_GAP + 30), 5, "queued clients served")
        pid2 = int(opslib.wait_file(os.path.join(d, "pid.2"), 1, "second run"))
        h.require(pid2 != pid1, "the same process served both")
        os.kill(pid2, signal.SIGTERM)
        rc = gw.wait_exit(RESTART_GAP + h.STOP_TIMEOUT + 2)
        h.check_equal(rc, 0, "the launcher's exit status after the second stop")


T.run()
