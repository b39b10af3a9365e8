#!/usr/bin/python3
# bench.py: Postern against Debian's websockify, the peer users replace, in
# one run on one machine with one back-end.  Not a test: it measures and
# reports ratios, it passes or fails nothing but its own plumbing.
#
#   /usr/bin/python3 tests/bench/bench.py [--build build] [--out DIR] [--quick]
#
# Measures, for each gateway (ws:// -> tcp://, and wss:// -> tcp:// with the
# same ECDSA P-256 certificate on both):
#   1. throughput: up (client -> sink back-end), down (source back-end ->
#      client) and echo (both ways at once) over a fixed volume, MB/s;
#   2. connections: K idle WebSocket connections, each proven end to end by
#      one echoed message: set-up rate, and memory per connection (VmRSS
#      summed over the gateway's processes, and PSS, which splits the pages
#      that forked processes share);
#   3. latency: round trip of a small message through the echo back-end,
#      p50 / p99, on one connection (and again with the idle connections of
#      step 2 held open).
# Writes a Markdown table (Postern, websockify, ratio, verdict) to stdout and
# to OUT/results.md (OUT defaults to BUILD/bench), raw figures to
# OUT/results.json.
#
# Network: 127.0.0.1 only, ports chosen free at run time.  Every wait is
# bounded; every process is started in its own process group and killed at
# the end (also on Ctrl-C).
# SPDX-License-Identifier: Apache-2.0
import argparse
import json
import os
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
MiB = 1024 * 1024


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Processes: each in its own session/process group, all killed at the end


class Procs:
    def __init__(self):
        self.live = []

    def start(self, argv, name, stdin=subprocess.DEVNULL, stdout=None, stderr=None, cwd=None):
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd,
                             start_new_session=True)
        p.bench_name = name
        self.live.append(p)
        return p

    def stop(self, p, timeout=5.0):
        if p.poll() is None:
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # forked children (websockify) may outlive their parent: sweep the group
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p in self.live:
            self.live.remove(p)

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p, timeout=3.0)


procs = Procs()


def free_ports(count):
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_port(port, proc, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.bench_name} exited ({proc.returncode}) before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{proc.bench_name} not listening on 127.0.0.1:{port} after {timeout} s")


def read_lines_until(proc, want, timeout):
    """Read proc.stdout lines until want(lines) is true; bounded by timeout.
    Reads the pipe unbuffered (os.read) so select() sees every byte."""
    lines = []
    fd = proc.stdout.fileno()
    pending = getattr(proc, "bench_pending", b"")
    deadline = time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    try:
        while True:
            while b"\n" in pending and not want(lines):
                line, pending = pending.split(b"\n", 1)
                lines.append(line.decode(errors="replace"))
            if want(lines):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{proc.bench_name}: timed out; output so far: {lines}")
            if not sel.select(left):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise BenchError(f"{proc.bench_name} ended early; output: {lines}")
            pending += chunk
    finally:
        sel.close()
        proc.bench_pending = pending
    return lines


# --------------------------------------------------------------------------
# Memory of a process group: VmRSS sum and PSS sum (kB)


def group_members(pgid):
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[2]) == pgid:          # field 5: pgrp
            pids.append(int(d))
    return pids


def group_memory(pgid):
    rss = pss = 0
    pids = group_members(pgid)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return {"processes": len(pids), "rss_kb": rss, "pss_kb": pss}


# --------------------------------------------------------------------------
# Set-up: helpers, certificate, back-end, gateways


def find_helpers(build, out):
    names = ("pst-bench-client", "pst-bench-backend")
    built = [os.path.join(build, "tests", "bench", n) for n in names]
    if all(os.access(p, os.X_OK) for p in built):
        return built
    # tests/bench is not part of this build: compile the two small helpers here
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise BenchError("no C compiler (cc) to build the benchmark helpers")
    dest = os.path.join(out, "helpers")
    os.makedirs(dest, exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gnutls"], check=True,
                           capture_output=True, text=True).stdout.split()
    paths = []
    for n in names:
        target = os.path.join(dest, n)
        src = os.path.join(HERE, n + ".c")
        if not (os.path.exists(target) and os.path.getmtime(target) >= os.path.getmtime(src)):
            argv = [cc, "-O2", "-o", target, src] + (flags if n == "pst-bench-client" else []) + ["-lpthread"]
            r = subprocess.run(argv, capture_output=True, text=True)
            if r.returncode != 0:
                raise BenchError(f"building {n} failed: {r.stderr}")
        paths.append(target)
    return paths


def make_certificate(d):
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    pw = os.path.join(d, "keystore.pw")
    with open(os.open(pw, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("bench-" + os.urandom(8).hex() + "\n")
    p12 = os.path.join(d, "keystore.p12")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-name", "127.0.0.1",
                    "-out", p12, "-passout", "file:" + pw], check=True, capture_output=True)
    return key, cert, p12, pw


def start_backend(helper, source_bytes):
    p = procs.start([helper, "--source-bytes", str(source_bytes), "--max-seconds", "900"],
                    "back-end", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    lines = read_lines_until(p, lambda ls: "ready" in ls, 10)
    ports = dict(l.split() for l in lines if l != "ready")
    return p, {k: int(v) for k, v in ports.items()}


def start_postern(postern, d, routes, tls):
    """routes: list of (name, accept port, back-end port, secure)."""
    services = []
    for name, port, backend, secure in routes:
        scheme = "wss" if secure else "ws"
        services.append(f"""  <service>
    <name>{name}</name>
    <accept>{scheme}://127.0.0.1:{port}/</accept>
    <connect>tcp://127.0.0.1:{backend}/</connect>
    <type>proxy</type>
    <accept-options>
      <!-- every bench client comes from 127.0.0.1 -->
      <tcp.maximum.connections.per.address>1000000</tcp.maximum.connections.per.address>
    </accept-options>
  </service>
""")
    security = ""
    if tls is not None:
        _, _, p12, pw = tls
        security = f"""  <security>
    <keystore>
      <type>PKCS12</type>
      <file>{os.path.basename(p12)}</file>
      <password-file>{os.path.basename(pw)}</password-file>
    </keystore>
  </security>
"""
    cfg = os.path.join(d, f"postern-{routes[0][1]}.xml")
    with open(cfg, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<gateway-config xmlns="http://xmlns.kaazing.org/2016/06/gateway">\n'
                + security + "".join(services) + "</gateway-config>\n")
    log = open(os.path.join(d, f"postern-{routes[0][1]}.log"), "wb")
    p = procs.start([postern, "run", "--config", cfg], "postern", stdout=subprocess.PIPE,
                    stderr=log, cwd=d)
    read_lines_until(p, lambda ls: sum(l.startswith("listening on") for l in ls) >= len(routes), 15)
    return p


def start_websockify(websockify, d, routes, tls):
    ps = []
    for name, port, backend, secure in routes:
        argv = [websockify]
        if secure:
            key, cert, _, _ = tls
            argv += ["--cert", cert, "--key", key, "--ssl-only"]
        argv += [f"127.0.0.1:{port}", f"127.0.0.1:{backend}"]
        log = open(os.path.join(d, f"websockify-{port}.log"), "wb")
        p = procs.start(argv, f"websockify {name}", stdout=log, stderr=subprocess.STDOUT, cwd=d)
        ps.append(p)
    for (_, port, _, _), p in zip(routes, ps):
        wait_port(port, p)
    return ps


# --------------------------------------------------------------------------
# Client runs


def run_client(client, mode, port, args, tls=False, timeout=240):
    argv = [client, mode, "--port", str(port), "--max-seconds", str(timeout - 10)] + \
        [str(a) for a in args] + (["--tls"] if tls else [])
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       start_new_session=True)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout.strip().splitlines()[-1])


class IdleHold:
    """K idle connections held open by one client process."""

    def __init__(self, client, port, count, window, setup_seconds):
        self.p = procs.start([client, "idle", "--port", str(port), "--count", str(count),
                              "--window", str(window), "--max-seconds", str(setup_seconds)],
                             "idle client", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        lines = read_lines_until(self.p, lambda ls: "ready" in ls, setup_seconds + 30)
        self.setup = json.loads(lines[0])

    def release(self):
        try:
            self.p.stdin.write(b"done\n")
            self.p.stdin.flush()
            lines = read_lines_until(self.p, lambda ls: bool(ls), 30)
            self.hold = json.loads(lines[0])
        except (BenchError, BrokenPipeError, ValueError):
            self.hold = {"closed_while_idle": None}
        procs.stop(self.p)
        return self.hold


# --------------------------------------------------------------------------
# Report


class Table:
    def __init__(self):
        self.rows = []   # (section, metric, unit, postern, websockify, higher_is_better, note)

    def add(self, section, metric, unit, pst, wsf, higher_better, note="", missing=""):
        """note: shown with the verdict; missing: shown instead of one when a
        figure is absent."""
        self.rows.append((section, metric, unit, pst, wsf, higher_better, (note, missing)))

    @staticmethod
    def fmt(v, unit):
        if v is None:
            return "—"
        if isinstance(v, str):
            return v
        if unit in ("MB/s", "conn/s"):
            return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
        if unit == "µs":
            return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
        if unit in ("KiB/conn", "MiB"):
            return f"{v:,.1f}"
        return f"{v:,}"

    @staticmethod
    def judge(pst, wsf, higher_better):
        """(ratio Postern/websockify, Postern's advantage factor, verdict word)."""
        if not isinstance(pst, (int, float)) or not isinstance(wsf, (int, float)) or pst <= 0 or wsf <= 0:
            return None, None, None
        ratio = pst / wsf
        adv = ratio if higher_better else 1 / ratio
        if adv >= 1.05:
            word = "Postern wins"
        elif adv <= 1 / 1.05:
            word = "Postern LOSES"
        else:
            word = "tie (within 5 %)"
        return ratio, adv, word

    def markdown(self, header):
        out = [header, "",
               "| metric | Postern | websockify | ratio Postern/websockify | verdict |",
               "| --- | ---: | ---: | ---: | --- |"]
        verdicts = []
        section = None
        for sec, metric, unit, pst, wsf, hb, note in self.rows:
            if sec != section:
                out.append(f"| **{sec}** | | | | |")
                section = sec
            ratio, adv, word = self.judge(pst, wsf, hb)
            note, missing = note
            label = f"{metric} ({unit}, {'higher' if hb else 'lower'} is better)"
            if word is None:
                verdict = missing or note or "not comparable"
                rtxt = "—"
            else:
                if word.startswith("tie"):
                    better = f"×{adv:.2f}"
                else:
                    better = f"{adv:.2f}× better" if adv >= 1 else f"{1 / adv:.2f}× worse"
                verdict = f"{word}: {better}" + (f"; {note}" if note else "")
                rtxt = f"{ratio:.2f}"
            out.append(f"| {label} | {self.fmt(pst, unit)} | {self.fmt(wsf, unit)} | {rtxt} | {verdict} |")
            verdicts.append(f"- {sec.split(' (')[0]} — {metric}: {verdict} "
                            f"(Postern {self.fmt(pst, unit)} vs websockify {self.fmt(wsf, unit)} {unit})")
        return "\n".join(out), verdicts


# --------------------------------------------------------------------------


def machine_line():
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        model = "?"
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "websockify"],
                           capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        v = "?"
    return f"{os.cpu_count()} CPUs ({model}); websockify {v}; RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)[0]}"


def main():
    ap = argparse.ArgumentParser(description="Postern vs websockify benchmark")
    ap.add_argument("--build", default=os.path.join(SOURCE_ROOT, "build"),
                    help="meson build dir holding gateway/postern (default: build)")
    ap.add_argument("--out", help="where results.md/results.json go (default: BUILD/bench)")
    ap.add_argument("--mib", type=int, default=512, help="volume per throughput run, MiB (512)")
    ap.add_argument("--msg", type=int, default=64 * 1024, help="message size for throughput (65536)")
    ap.add_argument("--repeat", type=int, default=2, help="throughput runs per case; median kept (2)")
    ap.add_argument("--lat-count", type=int, default=20000, help="round trips for latency (20000)")
    ap.add_argument("--lat-msg", type=int, default=32, help="latency message size (32)")
    ap.add_argument("--idle", default="400,1000,5000",
                    help="idle connection counts, comma-separated (400,1000,5000)")
    ap.add_argument("--setup-budget", type=float, default=45,
                    help="seconds allowed to open one batch of idle connections (45)")
    ap.add_argument("--no-tls", action="store_true", help="skip wss://")
    ap.add_argument("--quick", action="store_true",
                    help="a smoke run: 64 MiB, 1 repeat, 2000 round trips, 200 idle")
    a = ap.parse_args()
    if a.quick:
        a.mib, a.repeat, a.lat_count, a.idle = 64, 1, 2000, "200"

    build = os.path.abspath(a.build)
    out = os.path.abspath(a.out or os.path.join(build, "bench"))
    os.makedirs(out, exist_ok=True)
    postern = os.path.join(build, "gateway", "postern")
    if not os.access(postern, os.X_OK):
        raise BenchError(f"{postern} not found: build first (meson compile -C {a.build})")
    websockify = shutil.which("websockify") or "/usr/bin/websockify"
    if not os.access(websockify, os.X_OK):
        raise BenchError("websockify not found: apt-get install websockify (Debian package)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))   # inherited by all we start
    client, backend_helper = find_helpers(build, out)

    work = os.path.join(out, "run")             # configs, certificate, gateway logs
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tls = None if a.no_tls else make_certificate(work)
    volume = a.mib * MiB
    raw = {"machine": machine_line(), "volume_bytes": volume, "msg": a.msg}
    table = Table()
    t_start = time.monotonic()

    def say(msg):
        print(f"[{time.monotonic() - t_start:6.1f} s] {msg}", file=sys.stderr, flush=True)

    backend, bports = start_backend(backend_helper, volume)
    say(f"back-end on 127.0.0.1: {bports}")

    # --- 1 and 3: throughput and latency, both gateways up side by side
    kinds = [("echo", bports["echo"]), ("up", bports["sink"]), ("down", bports["source"])]
    secures = [False] if tls is None else [False, True]
    gw_ports = {}
    routes = {"postern": [], "websockify": []}
    for gw in routes:
        for secure in secures:
            ports = free_ports(len(kinds))
            for (kind, bport), port in zip(kinds, ports):
                routes[gw].append((f"{kind}{'-tls' if secure else ''}", port, bport, secure))
                gw_ports[(gw, kind, secure)] = port
    pst = start_postern(postern, work, routes["postern"], tls)
    wsf = start_websockify(websockify, work, routes["websockify"], tls)
    say(f"Postern pid {pst.pid}, websockify pids {[p.pid for p in wsf]}")

    # a short warm-up on every route (also proves each one end to end)
    for (gw, kind, secure), port in gw_ports.items():
        run_client(client, kind, port, ["--bytes", 4 * MiB, "--msg", a.msg], tls=secure, timeout=60)

    thr = {}
    for secure in secures:
        scheme = "wss" if secure else "ws"
        for kind, _ in kinds:
            for gw in ("postern", "websockify"):
                thr[(gw, kind, secure)] = []
            for i in range(a.repeat):          # alternate the gateways run by run
                for gw in ("postern", "websockify"):
                    r = run_client(client, kind, gw_ports[(gw, kind, secure)],
                                   ["--bytes", volume, "--msg", a.msg], tls=secure)
                    thr[(gw, kind, secure)].append(r)
                    say(f"{scheme} {kind:4} {gw:10} {r['mb_per_s']:8.1f} MB/s"
                        + (f"  [{r.get('tls_desc', '')}]" if secure else ""))
            vals = {gw: statistics.median(x["mb_per_s"] for x in thr[(gw, kind, secure)])
                    for gw in ("postern", "websockify")}
            what = {"echo": "echo, each way at once", "up": "client → back-end",
                    "down": "back-end → client"}[kind]
            table.add(f"Throughput {scheme}:// → tcp:// ({a.mib} MiB, {a.msg // 1024} KiB messages, "
                      f"median of {a.repeat})", what, "MB/s", vals["postern"], vals["websockify"], True)
    raw["throughput"] = {f"{gw} {kind} {'wss' if s else 'ws'}": v for (gw, kind, s), v in thr.items()}

    lat = {}
    for secure in secures:
        scheme = "wss" if secure else "ws"
        for gw in ("postern", "websockify"):
            r = run_client(client, "lat", gw_ports[(gw, "echo", secure)],
                           ["--count", a.lat_count, "--msg", a.lat_msg], tls=secure)
            lat[(gw, secure)] = r
            say(f"{scheme} latency {gw:10} p50 {r['p50_us']:.0f} µs p99 {r['p99_us']:.0f} µs")
        sec = f"Latency {scheme}:// echo round trip ({a.lat_count:,} × {a.lat_msg} B, one connection)"
        for q in ("p50", "p99"):
            table.add(sec, q, "µs", lat[("postern", secure)][f"{q}_us"],
                      lat[("websockify", secure)][f"{q}_us"], False)
    raw["latency"] = {f"{gw} {'wss' if s else 'ws'}": v for (gw, s), v in lat.items()}
    procs.stop(pst)
    for p in wsf:
        procs.stop(p)

    # --- 2: idle connections, on fresh gateways (so baselines are clean)
    raw["idle"] = []
    websockify_gave_up = None
    for count in [int(x) for x in a.idle.split(",") if x.strip()]:
        row = {"count": count}
        for gw in ("postern", "websockify"):
            if gw == "websockify" and websockify_gave_up is not None:
                row[gw] = {"skipped": websockify_gave_up}
                continue
            port = free_ports(1)[0]
            route = [("idle", port, bports["echo"], False)]
            if gw == "postern":
                g = [start_postern(postern, work, route, None)]
            else:
                g = start_websockify(websockify, work, route, None)
            try:
                time.sleep(0.5)
                base = group_memory(g[0].pid)
                hold = IdleHold(client, port, count, 64, a.setup_budget)
                time.sleep(1.0)
                held = group_memory(g[0].pid)
                try:
                    r = run_client(client, "lat", port, ["--count", min(a.lat_count, 2000),
                                                         "--msg", a.lat_msg, "--budget", 8], timeout=60)
                except BenchError as e:
                    r = {"p50_us": None, "error": str(e)}
                h = hold.release()
                ok = hold.setup["ok"]
                row[gw] = {"setup": hold.setup, "base": base, "held": held, "lat": r,
                           "closed_while_idle": h.get("closed_while_idle")}
                say(f"{count} idle via {gw:10}: {ok} up in {hold.setup['seconds']:.1f} s "
                    f"({hold.setup['per_s']:.0f}/s), {hold.setup['failed']} failed; "
                    f"RSS {base['rss_kb']} → {held['rss_kb']} kB, PSS {base['pss_kb']} → {held['pss_kb']} kB "
                    f"over {held['processes']} process(es); p50 with them open "
                    + (f"{r['p50_us']:.0f} µs over {r['count']} round trips" if r["p50_us"] else r["error"]))
                if gw == "websockify" and ok < count:
                    websockify_gave_up = f"websockify held only {ok} of {count} connections"
            finally:
                for p in g:
                    procs.stop(p)
        raw["idle"].append(row)

        sec = f"{count:,} idle ws:// connections (each proven by one echo)"

        def val(gw, f):
            e = row[gw]
            if "skipped" in e:
                return None
            return f(e)

        def per_conn(key):
            return lambda e: ((e["held"][key] - e["base"][key]) / e["setup"]["ok"]) if e["setup"]["ok"] else None

        def note_for(gw):
            e = row[gw]
            if "skipped" in e:
                return e["skipped"]
            s = e["setup"]
            n = f"{s['ok']:,} of {s['count']:,} opened" if s["ok"] < s["count"] else ""
            if e["lat"].get("error"):
                n += (", " if n else "") + "no extra connection possible"
            return n

        notes = "; ".join(f"{gw}: {n}" for gw in ("postern", "websockify") if (n := note_for(gw)))
        table.add(sec, "connections opened", "conns", val("postern", lambda e: e["setup"]["ok"]),
                  val("websockify", lambda e: e["setup"]["ok"]), True, notes)
        table.add(sec, "set-up rate", "conn/s", val("postern", lambda e: e["setup"]["per_s"]),
                  val("websockify", lambda e: e["setup"]["per_s"]), True, missing=notes)
        table.add(sec, "memory per connection, VmRSS summed over processes", "KiB/conn",
                  val("postern", per_conn("rss_kb")), val("websockify", per_conn("rss_kb")), False, missing=notes)
        table.add(sec, "memory per connection, PSS (shared pages split)", "KiB/conn",
                  val("postern", per_conn("pss_kb")), val("websockify", per_conn("pss_kb")), False, missing=notes)
        table.add(sec, "echo p50 on one more connection while they are open (≤ 2,000 round trips, ≤ 8 s)", "µs",
                  val("postern", lambda e: e["lat"]["p50_us"]),
                  val("websockify", lambda e: e["lat"]["p50_us"]), False, missing=notes)

    procs.stop(backend)
    elapsed = time.monotonic() - t_start
    header = (f"# Postern vs websockify\n\n{raw['machine']}; one back-end (C, epoll) and one C client "
              f"for both; 127.0.0.1; run took {elapsed:.0f} s. Ratio = Postern ÷ websockify; "
              f"verdict ±5 % is a tie. MB/s = 10⁶ bytes/s, each direction.")
    md, verdicts = table.markdown(header)
    text = md + "\n\n## Verdicts\n\n" + "\n".join(verdicts) + "\n"
    print(text)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    raw["elapsed_s"] = elapsed
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(raw, f, indent=1, default=str)
    print(f"(written to {os.path.join(out, 'results.md')} and results.json; "
          f"logs in {work})", file=sys.stderr)
    return 0


def on_signal(sig, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    status = 1
    try:
        status = main()
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
    finally:
        procs.stop_all()
    sys.exit(status)
