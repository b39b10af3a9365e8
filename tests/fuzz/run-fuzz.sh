#!/bin/sh
# run-fuzz.sh: runs every libFuzzer target for a while on a scratch copy of its corpus (make fuzz)
# SPDX-License-Identifier: Apache-2.0
#
# Usage: tests/fuzz/run-fuzz.sh BUILD_DIR [SECONDS] [TARGET…]
# FUZZ_RUNS=N stops each target after N inputs instead (SECONDS still bounds it).
# Two targets at a time (the machine has two cores).  A finding (crash,
# sanitizer report, leak, timeout, failed invariant) fails the run and
# leaves its input in BUILD_DIR/fuzz-findings/TARGET/.  The committed
# corpus is never written: new coverage stays in the scratch copy.
set -u

build=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS] [TARGET…]}
seconds=${2:-60}
[ $# -ge 2 ] && shift 2 || shift $#
src=$(cd "$(dirname "$0")" && pwd)
targets=${*:-$(cat "$src/targets.txt")}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/postern-fuzz-XXXXXX")
findings=$build/fuzz-findings
trap 'rm -rf "$scratch"' EXIT INT TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/lsan.supp}
export G_SLICE=always-malloc G_DEBUG=gc-friendly

run_one () {
  name=$1
  exe=$build/tests/fuzz/fuzz-$name
  work=$scratch/$name
  if [ ! -x "$exe" ]; then
    echo "$name: $exe is missing (configure with CC=clang -Dfuzzing=true)" > "$scratch/$name.result"
    return
  fi
  dict=
  [ -f "$src/$name.dict" ] && dict=-dict=$src/$name.dict
  mkdir -p "$work/corpus" "$findings/$name"
  cp "$src/corpus/$name/"* "$src/regressions/$name/"* "$work/corpus/"
  "$exe" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 $dict -artifact_prefix="$findings/$name/" "$work/corpus" > "$work/log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
  if [ $status -eq 0 ]; then
    elapsed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/log" | tail -n 1)
    echo "$name: ${runs:-?} executions in ${elapsed:-?} s (${speed:-?}/s, $cov, corpus $(ls "$work/corpus" | wc -l)), no finding" \
      > "$scratch/$name.result"
  else
    cp "$work/log" "$findings/$name/log"
    {
      echo "$name: FINDING after ${runs:-?} executions (exit $status); input and log in $findings/$name/"
      grep -E 'ERROR:|SUMMARY:|invariant failed|Test unit written' "$work/log" | head -n 5 | sed 's/^/    /'
    } > "$scratch/$name.result"
  fi
}

set -- $targets
while [ $# -gt 0 ]; do
  run_one "$1" &
  first=$!
  shift
  if [ $# -gt 0 ]; then
    run_one "$1" &
    second=$!
    shift
    wait $second
  fi
  wait $first
done

failed=0
for name in $targets; do
  cat "$scratch/$name.result"
  grep -q 'no finding' "$scratch/$name.result" || failed=1
done
exit $failed
