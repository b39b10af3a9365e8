#!/usr/bin/python3
# conn_cost.py: the cost of a new connection on the wss:// -> ssl:// path
# (or with --plain, ws:// -> tcp://, no TLS at all) (issue 10), for before/after comparisons on a shared machine: gateway CPU
# ms per connection (utime+stime of its process, ended threads included),
# connections/s and connect latency p50 over N connections, the gateway and
# nginx's stream module in turn, interleaved; optionally a `perf record -g`
# profile or `strace -c -f` syscall counts of one more run of the last
# gateway given (not counted in the medians).
#
#   /usr/bin/python3 tests/bench/conn_cost.py [--postern BIN ...] [--nginx]
#       [--plain] [--workers N] [--count 600] [--rounds 3]
#       [--perf FILE | --strace FILE]
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
            aux = subprocess.Popen(["perf", "record", "-g", "-o", a.perf, "-p", str(proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif traced and a.strace:
            aux = subprocess.Popen(["strace", "-c", "-f", "-o", a.strace, "-p", str(proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if aux is not None:
            time.sleep(1.0)
        cpu0 = bench.group_cpu(proc.pid)
        x = bench.run_client(client, "conn", port, args + ["--count", a.count, "--parallel", a.parallel], tls=secure)
        cpu = bench.group_cpu(proc.pid) - cpu0
        if aux is not None:
            aux.send_signal(2)
            aux.wait(timeout=60)
        return {"per_s": x["per_s"], "p50_ms": x["p50_ms"], "cpu_ms_per_conn": cpu * 1e3 / x["count"]}
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
    ap.add_argument("--strace", help="strace -c -f of the last postern run into this file")
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
    try:
        for r in range(a.rounds):
            for g in gateways:
                x = one_run(a, client, bports, tls, work, g, False)
                runs[g].append(x)
                print(f"round {r + 1} {g}: {x['per_s']:.0f} conn/s, p50 {x['p50_ms']:.1f} ms, "
                      f"CPU {x['cpu_ms_per_conn']:.2f} ms/conn", file=sys.stderr, flush=True)
        if a.perf or a.strace:
            # one more run of the last gateway, traced (its figures, slowed
            # by the tracer, are left out of the medians)
            x = one_run(a, client, bports, tls, work, gateways[-1], True)
            print(f"traced run {gateways[-1]}: {a.perf or a.strace}", file=sys.stderr, flush=True)
    finally:
        bench.procs.stop(backend)
        shutil.rmtree(out, ignore_errors=True)
    for g, xs in runs.items():
        med = {k: round(statistics.median(x[k] for x in xs), 3) for k in xs[0]}
        print(json.dumps({"gateway": g, **med, "runs": len(xs)}))


if __name__ == "__main__":
    try:
        main()
    finally:
        bench.procs.stop_all()
