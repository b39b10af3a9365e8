#!/usr/bin/python3
# test_bench_verdict.py: bench.py's verdicts and the ratios they print agree
# (issue 10: "NOT met (1.00×)" for a ratio a hair above 1.00).  TAP.
# SPDX-License-Identifier: Apache-2.0
import os
import sys
import types

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

results = []


def check(ok, name):
    results.append((bool(ok), name))


def agrees(ratio, target, higher_better):
    """The verdict on the ratio and the verdict a reader draws from the
    printed figure are the same."""
    shown = float(bench.ratio_text(ratio, target))
    met = ratio >= target if higher_better else ratio <= target
    met_shown = shown >= target if higher_better else shown <= target
    return met == met_shown


# Every ratio within ±0.01 of each target of the bench, in steps of 0.00001.
for target in (0.8, 1.0, 1.2):
    bad = [(r, hb) for i in range(-1000, 1001) for r in [target + i / 100000] for hb in (True, False)
           if not agrees(r, target, hb)]
    check(not bad, f"ratios around {target}: the printed figure agrees with the verdict ({bad[:3]})")

check(bench.ratio_text(1.0031, 1.0) == "1.003", "1.0031 against 1.0 is printed 1.003")
check(bench.ratio_text(1.0004, 1.0) == "1.0004", "1.0004 against 1.0 is printed 1.0004")
check(bench.ratio_text(1.0, 1.0) == "1.00", "exactly the target is printed 1.00")
check(bench.ratio_text(1.234, 1.0) == "1.23", "a ratio away from the target keeps two decimals")
check(bench.ratio_text(1.001, None) == "1.00", "no target: two decimals")


check(bench.ratio_text(36.04, 36.0, 1) == "36.04", "36.04 KiB against 36 is printed 36.04")
check(bench.ratio_text(35.5, 36.0, 1) == "35.5", "35.5 KiB against 36 keeps one decimal")
held = {"held": 10000, "held_wanted": 10000, "held_still_echoing": 10000, "both_cores": True, "workers": 2,
        "pss_kib_per_conn": 36.04}
check(bench.held_verdict(held, None).startswith("NOT met (36.04 KiB > 36"),
      f"the memory verdict at 36.04 KiB: {bench.held_verdict(held, None)}")


class Args(types.SimpleNamespace):
    def __getattr__(self, name):   # every count the header prints
        return 1000


# The table bench.py writes: a ratio a hair above 1.00 on a higher-is-better
# and a lower-is-better figure with a 1.0× target.
figures = {"nginx": {"conn_per_s": 1000.0, "cpu_ms_per_conn": 1.0},
           "websockify": {},
           "postern": {"conn_per_s": 999.4, "cpu_ms_per_conn": 1.0031}}
md, verdicts, *_ = bench.ssl_markdown(figures, Args())
cps = [v for v in verdicts if "new connections/s" in v]
cpu = [v for v in verdicts if "CPU per new connection" in v]
check(cps and cps[0].endswith("NOT met (0.999×)"), f"the conn/s verdict: {cps}")
check(cpu and cpu[0].endswith("NOT met (1.003×)"), f"the CPU per connection verdict: {cpu}")
check("| 1.003× |" in md and "| 0.999× |" in md, "the ratio column shows the same figures")

print(f"1..{len(results)}")
for i, (ok, name) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
sys.exit(0 if all(ok for ok, _ in results) else 1)
