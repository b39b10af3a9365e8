#!/usr/bin/python3
# workerslib.py: helpers for the tests of `postern run --workers N`
# (test_workers.py, test_workers_ops.py): worker processes seen from /proc
# and from the JSON log records, clients spread over the workers, /health,
# the bounded waits of a reload, and a postern binary a test can break.
# SPDX-License-Identifier: Apache-2.0
import http.client
import json
import os
import shutil
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ops"))
from opslib import h  # noqa: E402

SANITIZED = bool(os.environ.get("POSTERN_SANITIZED"))
SLOW = 4 if SANITIZED else 1


# --------------------------------------------------------------------------
# Processes seen from /proc and from the JSON records


def children(pid):
    """Process ids whose parent is `pid` (scanning /proc: the kernel's
    children file needs CONFIG_PROC_CHILDREN)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the command may hold spaces and parentheses: fields after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(name))
    return sorted(found)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_children(gw, count, timeout=10.0 * SLOW, exclude=()):
    """Wait until the master has `count` worker children (none of
    `exclude`); return them."""
    deadline = time.monotonic() + timeout
    while True:
        kids = [k for k in children(gw.proc.pid) if k not in exclude]
        if len(kids) == count:
            return kids
        if time.monotonic() > deadline:
            raise h.Fail(f"expected {count} worker processes under the master {gw.proc.pid}, "
                         f"found {kids}")
        time.sleep(0.05)


def json_records(gw, event=None):
    out = []
    with gw.cond:
        lines = list(gw.stderr)
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if event is None or rec.get("event") == event:
            out.append(rec)
    return out


def worker_of(gw, client_port, timeout=5.0):
    """The pid of the worker whose "open" record names this client port."""
    deadline = time.monotonic() + timeout
    while True:
        for rec in json_records(gw, "open"):
            if rec.get("client", "").endswith(f":{client_port}"):
                return rec.get("pid")
        if time.monotonic() > deadline:
            raise h.Fail(f"no JSON 'open' record for client port {client_port}")
        time.sleep(0.05)



def start(config, urls, *args):
    return h.start_gateway(config, urls, name=f"postern run {' '.join(args)}",
                           extra_args=list(args))



async def echo_urls(urls, n=1):
    for url in urls:
        for i in range(n):
            async with h.ws_connect(url) as c:
                await h.echo_once(c, f"hello {i}")
                await h.close_cleanly(c)


async def spread_clients(gw, url, kids, per_worker=4, most=64):
    """WebSocket clients, `per_worker` held by each worker.  Which worker
    accepts a client is the kernel's and the scheduler's choice: connect
    until each worker holds enough (at most `most` clients), then close
    the surplus, so that the load below is split evenly by construction."""
    by_worker = {k: [] for k in kids}
    extra = []
    try:
        while any(len(v) < per_worker for v in by_worker.values()):
            if sum(map(len, by_worker.values())) + len(extra) >= most:
                raise h.Fail(f"{most} clients did not give each worker {per_worker}: "
                             f"{ {k: len(v) for k, v in by_worker.items()} }")
            c = await h.ws_connect(url)
            await h.echo_once(c, "which worker?")
            pid = worker_of(gw, c.local_address[1])
            if pid in by_worker and len(by_worker[pid]) < per_worker:
                by_worker[pid].append(c)
            else:
                extra.append(c)
    except BaseException:
        for c in extra + [c for v in by_worker.values() for c in v]:
            await c.close()
        raise
    for c in extra:
        await h.close_cleanly(c)
    return by_worker



def health(url):
    r = h.run_tool(["curl", "-s", "--max-time", "5", "-o", "-", "-w", "\n%{http_code}", url], timeout=10)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def socket_owner(server_port, client_port, pids):
    """Which of `pids` holds the accepted end of our connection from
    client_port to server_port (its inode in /proc/net/tcp, then the
    process whose /proc/PID/fd links to it); None if none does."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == server_port and
                    int(remote.split(":")[1], 16) == client_port):
                inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


def http_get(port, path, pids=(), timeout=10.0):
    """GET http://127.0.0.1:port/path on a connection of our own, kept
    open until the answer is read so that the process holding its other
    end can be told among `pids`.  Returns (status, body, owner pid, head)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        local = s.getsockname()[1]
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            h.require(chunk, f"GET {path}: the connection closed before the answer's head")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        h.require(length is not None, f"GET {path}: no Content-Length in {head!r}")
        while len(body) < length:
            chunk = s.recv(65536)
            h.require(chunk, f"GET {path}: the connection closed after {len(body)} of {length} bytes")
            body += chunk
        owner = socket_owner(port, local, pids)
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body.decode(), owner, head.decode()


# --------------------------------------------------------------------------
# A status and an echo service; reloads


def status_echo_config(d, echo_path="/echo"):
    """A config with a status service and an echo service on free ports,
    written to d.  Returns (config path, status URL, echo URL, its text)."""
    status_port, ws_port = h.free_ports(2)
    status_url = f"http://127.0.0.1:{status_port}/"
    ws_url = f"ws://127.0.0.1:{ws_port}{echo_path}"
    text = h.config_xml([h.service_xml("status", "status", [status_url]),
                         h.service_xml("echo", "echo", [ws_url])])
    return h.write_config(d, text), status_url, ws_url, text


def wait_health(status_url, want=(200, "ok\n"), timeout=10.0 * SLOW):
    """Wait until GET /health answers `want` (status, body)."""
    deadline = time.monotonic() + timeout
    while True:
        got = health(status_url + "health")
        if got == want:
            return
        h.require(time.monotonic() < deadline, f"/health still answers {got} after {timeout:.0f} s, "
                                               f"not {want}")
        time.sleep(0.1)


def reload(gw, outcome="reloaded", timeout=20.0 * SLOW):
    """SIGHUP to the master; wait for its next line naming `outcome`
    ("reloaded" or "reload failed"); return that line."""
    with gw.cond:
        before = len(gw.stderr)
    gw.signal(signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while True:
        with gw.cond:
            lines = gw.stderr[before:]
        for line in lines:
            if outcome in line:
                return line
        h.require(time.monotonic() < deadline, f"no '{outcome}' line within {timeout:.0f} s of SIGHUP")
        time.sleep(0.05)


class SwappableBinary:
    """A copy of postern for the master to run: it starts its workers by
    that path, so a failing program put there makes every new worker die
    at start (an upgrade gone wrong) -- with a configuration the master
    validated -- and putting the copy back cures it."""

    def __init__(self, d):
        self.path = os.path.join(d, "postern")
        self.saved = self.path + ".good"
        shutil.copy2(h.postern_path(), self.path)

    def break_(self):
        # The master runs the inode it started from, now under .good.
        os.rename(self.path, self.saved)
        with open(self.path, "w") as f:
            f.write("#!/bin/sh\necho 'postern (broken on purpose by the test)' >&2\nexit 3\n")
        os.chmod(self.path, 0o755)

    def restore(self):
        os.replace(self.saved, self.path)

    def start(self, config, urls, *args):
        """`postern run` from this copy, once it listens on `urls`."""
        gw = h.Gateway(config, name=f"postern run {' '.join(args)} (copy)", extra_args=list(args))
        gw.argv[0] = self.path
        gw.start()
        try:
            gw.wait_listening(len(urls))
        except BaseException:
            gw.kill()
            raise
        return gw


def workers_up(status_url):
    """The Postern-Workers header of GET /health ("2 of 2 up"), whatever
    the status; None when it cannot be had."""
    host, port = status_url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/health")
        r = conn.getresponse()
        r.read()
        return r.getheader("Postern-Workers")
    except OSError:
        return None
    finally:
        conn.close()


def wait_workers_up(status_url, n, timeout=10.0 * SLOW):
    """Wait until the master counts n of n workers accepting."""
    deadline = time.monotonic() + timeout
    while True:
        got = workers_up(status_url)
        if got == f"{n} of {n} up":
            return
        h.require(time.monotonic() < deadline, f"Postern-Workers still '{got}' after {timeout:.0f} s, "
                                               f"not '{n} of {n} up'")
        time.sleep(0.1)
