#!/usr/bin/python3
# check-sanitized.py: `make check-asan` -- the tests on the ASan+UBSan build.
# SPDX-License-Identifier: Apache-2.0
"""Runs the tests of a sanitized build in two passes and counts them with
summary.py, sanitizer reports included.

- Compiled test programs (GTest units, fuzz corpus replays) run with
  fast_unwind_on_malloc=0: GLib has no frame pointers, and the leak
  suppressions in tests/config/lsan.supp (GLib's own g_set_user_dirs)
  only match real stacks.  malloc_context_size=8 keeps that unwinding
  affordable (full depth made TLS handshakes in test-probe overrun their
  10 s deadline) while still reaching g_set_user_dirs.
- Programs in NO_LEAK_CHECK run with detect_leaks=0, each for the reason
  given there: ASan and UBSan still check them.
- Script tests (the Python end-to-end suites, which start `postern run`
  and the cert commands) run with ASan's fast unwinder: the slow one makes
  every malloc walk DWARF tables, and TLS handshakes then take seconds.

Every report goes to LOGS through log_path (ASan, LSan) and is counted as
a failure by summary.py even when the test that provoked it passed; UBSan
also writes to stderr, which the e2e harness scans.  POSTERN_SANITIZED=1
tells RSS assertions that ASan's shadow memory and quarantine are there.

Usage: check-sanitized.py BUILD_DIR LOGS_DIR"""
import json
import os
import shutil
import subprocess
import sys

# Suites left to `make check`: the browser/Java flows (minutes of Chromium
# and JVM start-up under the sanitizers, no gateway code of their own), the
# editor (not built here) and documentation checks.
SKIP_SUITES = {"flows", "editor", "bench", "man"}

NO_LEAK_CHECK = {
    # LeakSanitizer's tracer itself dies with SIGSEGV ("Tracer caught
    # signal 11") at exit of any process that ran a GIO TLS handshake over
    # a socketpair here; every case passes.  The parser it tests is leak-
    # checked through fuzz-replay-client-hello.
    "net-client-hello",
}

build, logs = sys.argv[1], os.path.abspath(sys.argv[2])
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shutil.rmtree(logs, ignore_errors=True)
os.makedirs(logs)

tests = json.loads(subprocess.run(["meson", "introspect", "--tests", build], check=True,
                                  capture_output=True, text=True).stdout)
compiled, scripts, unleaked = [], [], []
for t in tests:
    suites = {s.split(":")[-1] for s in t["suite"]}
    if suites & SKIP_SUITES:
        continue
    exe = os.path.basename(t["cmd"][0])
    if t["name"] in NO_LEAK_CHECK:
        unleaked.append(t["name"])
        continue
    (scripts if exe.startswith("python") or exe.endswith(".py") else compiled).append(t["name"])

common = "halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:quarantine_size_mb=16"
env = dict(os.environ,
           UBSAN_OPTIONS=f"halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path={logs}/ubsan",
           LSAN_OPTIONS=f"suppressions={src}/tests/config/lsan.supp:print_suppressions=0",
           G_SLICE="always-malloc", POSTERN_SANITIZED="1")
status = 0
jsons = []
for name, names, unwind in (("units", compiled, "fast_unwind_on_malloc=0:malloc_context_size=8"),
                            ("scripts", scripts, "fast_unwind_on_malloc=1"),
                            ("unleaked", unleaked, "fast_unwind_on_malloc=1:detect_leaks=0")):
    if not names:
        continue
    env["ASAN_OPTIONS"] = f"{common}:{unwind}:log_path={logs}/asan"
    print(f"check-asan: {len(names)} {name} ({unwind})", flush=True)
    with open(os.path.join(build, f"check-{name}.log"), "w") as out:
        r = subprocess.run(["meson", "test", "-C", build, "--print-errorlogs", "--num-processes", "2",
                            "--timeout-multiplier", "4", "--logbase", name, *names],
                           env=env, stdout=out, stderr=subprocess.STDOUT)
    status |= r.returncode != 0
    with open(os.path.join(build, f"check-{name}.log")) as f:
        sys.stdout.write("".join(l for l in f if " / " in l and ("OK" in l or "FAIL" in l or "ERROR" in l
                                                                  or "TIMEOUT" in l)))
    jsons.append(os.path.join(build, "meson-logs", f"{name}.json"))
r = subprocess.run(["/usr/bin/python3", os.path.join(src, "tests", "summary.py"), *jsons,
                    "--sanitizer-logs", logs])
sys.exit(1 if status or r.returncode else 0)
