#!/usr/bin/python3
# conn_cost.py: the cost of a new connection on the wss:// -> ssl:// path
# (or with --plain, ws:// -> tcp://, no TLS at all) (issue 10), for before/after comparisons on a shared machine: gateway CPU
# ms per connection (utime+stime of its process, ended threads included),
# connections/s and connect latency p50 over N connections, the gateway and
# nginx's stream module in turn, interleaved; optionally a `perf record -g`
# profile of one more run of the last gateway given, or `strace -c -f`
# syscall counts of one more run of each (not counted in the medians).
#
#   /usr/bin/python3 tests/bench/conn_cost.py [--postern BIN ...] [--nginx]
#       [--plain] [--workers N] [--count 600] [--rounds 3]
#       [--perf FILE | --strace FILE]
#
# --strace FILE traces one more run of every gateway (each process of its
# group: nginx's workers, Postern's master and workers) with `strace -c -f`
# into FILE.N (N: the gateway's index, nginx first) and prints each one's
# system calls per connection side by side.
#
# Not a test.  Uses bench.py's back-end, client and configs (build first:
# meson compile -C build).  127.0.0.1 only, ports chosen free at run time.
# SPDX-License-Identifier: Apache-2.0
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def one_run(a, client, bports, tls, work, gateway, traced):
    """traced: None, or the file of the perf or strace record of this run"""
    port = bench.free_ports(1)[0]
    secure = not a.plain
    back = bports["tls-echo" if secure else "echo"]
    if gateway == "nginx":
        proc, args = bench.start_nginx(work, port, back, tls, secure), ["--raw"]
    else:
        proc, args = bench.start_postern(gateway, work, [("ssl-echo" if secure else "tcp-echo", port, back, secure)],
                                         tls if secure else None, backend_tls=secure), []
    aux = None
    try:
        bench.run_client(client, "conn", port, args + ["--count", 50, "--parallel", 2], tls=secure, timeout=90)
        if traced and a.perf:
            aux = subprocess.Popen(["perf", "record", "-g", "-o", traced, "-p", str(proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif traced and a.strace:
            # every process of the group: -f follows only the children
            # forked once traced (nginx's and Postern's workers exist by now)
            pids = [x for p in bench.group_members(proc.pid) for x in ("-p", str(p))]
            aux = subprocess.Popen(["strace", "-c", "-f", "-o", traced] + pids,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if aux is not None:
            time.sleep(1.0)
        cpu0 = bench.group_cpu(proc.pid)
        x = bench.run_client(client, "conn", port, args + ["--count", a.count, "--parallel", a.parallel], tls=secure)
        cpu = bench.group_cpu(proc.pid) - cpu0
        if aux is not None:
            aux.send_signal(2)
            aux.wait(timeout=60)
        return {"per_s": x["per_s"], "p50_ms": x["p50_ms"], "cpu_ms_per_conn": cpu * 1e3 / x["count"],
                "count": x["count"]}
    finally:
        if aux is not None and aux.poll() is None:
            aux.kill()
        bench.procs.stop(proc)


def main():
    ap = argparse.ArgumentParser(description="cost of a new wss -> ssl (or ws -> tcp) connection")
    ap.add_argument("--build", default=os.path.join(bench.SOURCE_ROOT, "build"))
    ap.add_argument("--postern", action="append", help="gateway binary (repeatable; default BUILD/gateway/postern)")
    ap.add_argument("--nginx", action="store_true", help="nginx's stream module too (TLS -> TLS, or TCP -> TCP)")
    ap.add_argument("--plain", action="store_true", help="ws:// -> tcp:// and the plain echo back-end (no TLS)")
    ap.add_argument("--workers", type=int, help="postern run --workers N (default: one per CPU)")
    ap.add_argument("--count", type=int, default=600, help="connections per run (600)")
    ap.add_argument("--parallel", type=int, default=8, help="parallel clients (8)")
    ap.add_argument("--rounds", type=int, default=3, help="runs per gateway, interleaved; medians (3)")
    ap.add_argument("--perf", help="perf record -g of the last postern run into this file")
    ap.add_argument("--strace", help="strace -c -f of one more run of each gateway into FILE.0, FILE.1…, "
                    "and a table of syscalls per connection")
    a = ap.parse_args()
    bench.WORKERS = a.workers
    gateways = ([os.path.abspath(p) for p in a.postern] if a.postern
                else [os.path.join(os.path.abspath(a.build), "gateway", "postern")])
    if a.nginx:
        gateways = ["nginx"] + gateways
    out = tempfile.mkdtemp(prefix="postern-conn-cost-")
    work = os.path.join(out, "run")
    os.makedirs(work)
    client, helper = bench.find_helpers(os.path.abspath(a.build), out)
    tls = bench.make_certificate(work)
    backend, bports = bench.start_backend(helper, 1 << 20, tls)
    runs = {g: [] for g in gateways}
    traced = {}
    try:
        for r in range(a.rounds):
            for g in gateways:
                x = one_run(a, client, bports, tls, work, g, None)
                runs[g].append(x)
                print(f"round {r + 1} {g}: {x['per_s']:.0f} conn/s, p50 {x['p50_ms']:.1f} ms, "
                      f"CPU {x['cpu_ms_per_conn']:.2f} ms/conn", file=sys.stderr, flush=True)
        if a.perf:
            # one more run of the last gateway, traced (its figures, slowed
            # by the tracer, are left out of the medians)
            x = one_run(a, client, bports, tls, work, gateways[-1], a.perf)
            print(f"traced run {gateways[-1]}: {a.perf}", file=sys.stderr, flush=True)
        if a.strace:
            # one more run of each gateway, traced (left out of the medians)
            for i, g in enumerate(gateways):
                x = one_run(a, client, bports, tls, work, g, f"{a.strace}.{i}")
                traced[g] = (f"{a.strace}.{i}", x["count"])
                print(f"traced run {g}: {a.strace}.{i}", file=sys.stderr, flush=True)
    finally:
        bench.procs.stop(backend)
        shutil.rmtree(out, ignore_errors=True)
    for g, xs in runs.items():
        med = {k: round(statistics.median(x[k] for x in xs), 3) for k in xs[0] if k != "count"}
        print(json.dumps({"gateway": g, **med, "runs": len(xs)}))
    if traced:
        print_syscalls(traced)


def read_strace_counts(path):
    """strace -c's table: {syscall: (calls, errors)}."""
    counts = {}
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 5 or not fields[0][0].isdigit() or fields[-1] == "total":
                continue
            calls = int(fields[3])
            errors = int(fields[4]) if len(fields) == 6 else 0
            counts[fields[-1]] = (calls, errors)
    return counts


def print_syscalls(traced):
    """System calls per connection of each traced gateway, side by side
    (errors in brackets), biggest first, and their totals."""
    per = {g: {k: (c / n, e / n) for k, (c, e) in read_strace_counts(path).items()}
           for g, (path, n) in traced.items()}
    names = sorted({k for t in per.values() for k in t},
                   key=lambda k: -max(t.get(k, (0, 0))[0] for t in per.values()))
    heads = [os.path.basename(g) for g in per]
    heads = [f"{b} ({i})" if heads.count(b) > 1 else b for i, b in enumerate(heads)]
    print("syscalls per connection: " + " | ".join(heads))
    for k in names + ["total"]:
        cells = []
        for t in per.values():
            if k == "total":
                c, e = sum(v[0] for v in t.values()), sum(v[1] for v in t.values())
            else:
                c, e = t.get(k, (0, 0))
            cells.append(f"{c:6.2f}" + (f" ({e:.2f})" if e >= 0.005 else ""))
        print(f"  {k:16} " + " | ".join(cells))


if __name__ == "__main__":
    try:
        main()
    finally:
        bench.procs.stop_all()
