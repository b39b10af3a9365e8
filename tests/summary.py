#!/usr/bin/python3
# summary.py: count real test results from meson's testlog.json.
# SPDX-License-Identifier: Apache-2.0
"""Each TAP test case ('ok' / 'not ok' line) counts once; a test program
that crashed, timed out or printed no TAP counts as one failure."""
import json
import re
import sys

passed = failed = 0
failures = []
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        if not line.strip():
            continue
        t = json.loads(line)
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
for name in failures:
    print("FAILED:", name)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
