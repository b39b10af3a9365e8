#!/usr/bin/python3
# opslib.py: helpers for the operations tests (issue 11): a fake
# NOTIFY_SOCKET the test binds itself, and `postern run` started under
# another launcher (systemd-socket-activate).
# Builds on tests/e2e/harness.py and tests/e2e-proxy/proxylib.py.
# SPDX-License-Identifier: Apache-2.0
import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e-proxy"))
import harness as h  # noqa: E402
import proxylib as p  # noqa: E402,F401


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notify socket:
    every datagram is kept, in order, as (monotonic time, {VAR: VALUE}).
    abstract=True binds "@name" (the abstract namespace) instead of a path."""

    def __init__(self, directory, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"postern-test-{os.getpid()}-{time.monotonic_ns()}"
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
        else:
            path = os.path.join(directory, "notify.sock")
            self.sock.bind(path)
            self.env_value = path
        self.sock.settimeout(0.2)
        self.messages = []
        self.cond = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            with self.cond:
                self.messages.append((time.monotonic(), fields))
                self.cond.notify_all()

    def wait_for(self, key, value=None, timeout=10.0, after=0):
        """The index of the first message at or after `after` holding
        key (=value); Fail after timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.messages)):
                    f = self.messages[i][1]
                    if key in f and (value is None or f[key] == value):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise h.Fail(f"no {key}{'=' + value if value else ''} on the notify socket "
                                 f"within {timeout} s; got {self.describe()}")
                self.cond.wait(min(left, 0.2))

    def describe(self):
        with self.cond:
            return [m[1] for m in self.messages]

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_file(path, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            with open(path) as f:
                return f.read().strip()
        time.sleep(0.05)
    raise h.Fail(f"{what}: {path} not written within {timeout} s")
