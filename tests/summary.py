#!/usr/bin/python3
# summary.py: count real test results from meson's testlog.json.
# SPDX-License-Identifier: Apache-2.0
"""Each TAP test case (of one or more meson test logs) ('ok' / 'not ok' line) counts once; a test program
that crashed, timed out or printed no TAP counts as one failure.

With --sanitizer-logs DIR (the sanitized build: ASan/UBSan/LSan write their
reports there through log_path, whichever process made them, the gateway
children of the Python tests included), every report file is printed and
counts as one more failure: a report is a failure even when the test that
provoked it passed, or killed the process before it could say so."""
import json
import os
import re
import sys

MAX_REPORT_LINES = 80

args = sys.argv[1:]
sanitizer_dir = None
if "--sanitizer-logs" in args:
    i = args.index("--sanitizer-logs")
    sanitizer_dir = args[i + 1] if i + 1 < len(args) else None
    del args[i:i + 2]
if not args or sanitizer_dir == "":
    sys.exit("usage: summary.py TESTLOG.json… [--sanitizer-logs DIR]")

passed = failed = 0
failures = []


def results(paths):
    for path in paths:
        with open(path, encoding="utf-8") as log:
            for line in log:
                if line.strip():
                    yield json.loads(line)


for t in results(args):
    out = t.get("stdout") or ""
    cases = re.findall(r"^(ok|not ok)\b(.*)$", out, re.M)
    p = sum(1 for c in cases if c[0] == "ok" and "# SKIP" not in c[1])
    f = sum(1 for c in cases if c[0] == "not ok" and "# TODO" not in c[1])
    if t["result"] not in ("OK", "EXPECTEDFAIL") and f == 0:
        f = 1  # crashed, timed out, or bad exit without a failing case
    if t["result"] == "OK" and not cases:
        p = 1  # plain (non-TAP) test that passed
    passed += p
    failed += f
    if f:
        failures.append(t["name"])

if sanitizer_dir is not None and os.path.isdir(sanitizer_dir):
    for name in sorted(os.listdir(sanitizer_dir)):
        path = os.path.join(sanitizer_dir, name)
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        if not any(l.strip() for l in lines):
            continue
        print(f"=== sanitizer report {path}")
        for l in lines[:MAX_REPORT_LINES]:
            print(l)
        if len(lines) > MAX_REPORT_LINES:
            print(f"... ({len(lines) - MAX_REPORT_LINES} more lines in {path})")
        failed += 1
        what = next((l for l in lines if "ERROR:" in l or "runtime error" in l),
                    lines[0]).strip()
        failures.append(f"sanitizer report {name}: {what}")

for name in failures:
    print("FAILED:", name)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
