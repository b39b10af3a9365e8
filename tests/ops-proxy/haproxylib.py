# haproxylib.py: what the ops-proxy tests share: the e2e harness on the
# path, HAProxy started from a config it accepts (haproxy -c), gateways
# started and cleaned up, and their log lines waited for (bounded).
# SPDX-License-Identifier: Apache-2.0
import os
import re
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e-proxy"))
import harness as h  # noqa: E402
import proxylib as p  # noqa: E402


def start_haproxy(tap, haproxy_bin, directory, text, ready_port):
    """Write text as directory/haproxy.cfg, have HAProxy check it, run it in
    the foreground (-db) until the test ends; ready once ready_port
    accepts.  Returns (the p.Proc, the config's path)."""
    cfg = os.path.join(directory, "haproxy.cfg")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(text)
    r = h.run_tool([haproxy_bin, "-c", "-f", cfg])
    h.require(r.returncode == 0, f"haproxy -c rejects its config:\n{r.stdout}{r.stderr}")
    proc = p.Proc([haproxy_bin, "-db", "-f", cfg], "haproxy", directory, ready_port=ready_port)
    tap.add_cleanup(proc.kill)
    return proc, cfg


def start_gateway(tap, config, urls, name):
    """`postern run` on config, waited for until it listens on every URL,
    killed when the test ends."""
    gw = h.start_gateway(config, urls, name=name)
    tap.add_cleanup(gw.kill)
    return gw


def check_config(config):
    r = h.run_postern(["check", "--config", config])
    h.require(r.returncode == 0, f"postern check refuses the config:\n{r.stdout}{r.stderr}")


def log_mark(gw):
    """Where gw's stderr is now: lines after it are new."""
    with gw.cond:
        return len(gw.stderr)


def log_lines(gw, pattern, since=0):
    with gw.cond:
        return [l for l in gw.stderr[since:] if re.search(pattern, l)]


def wait_lines(gw, pattern, count=1, timeout=10.0, since=0):
    """gw's stderr lines (after mark since) that match pattern, once there
    are count of them or timeout passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = log_lines(gw, pattern, since)
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    return log_lines(gw, pattern, since)


def wait_log(gw, since, predicate, timeout):
    """The first stderr line of gw after mark since that satisfies
    predicate, or None after timeout."""
    deadline = time.monotonic() + timeout
    with gw.cond:
        while True:
            for l in gw.stderr[since:]:
                if predicate(l):
                    return l
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            gw.cond.wait(min(left, 0.2))
