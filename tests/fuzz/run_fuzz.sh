#!/usr/bin/env bash
# Runs shm_fuzz for a bounded time from the checked-in seeds (ctest: fuzz_shm), or checks that a
# planted bug is found (ctest: fuzz_shm_selftest).
#   run_fuzz.sh FUZZER SEEDS WORKDIR [SECONDS]   $IPCBENCH_FUZZ_SECONDS, if set, wins over SECONDS
#   run_fuzz.sh --selftest FUZZER SEEDS WORKDIR
# WORKDIR is emptied first; the fuzzer writes the inputs it finds there (corpus/), and any
# crashing, hanging or leaking input (crash-*, timeout-*, oom-*, leak-*), which is also printed
# in base64. Exit status: 0 nothing found (the runs and execs per second are printed), 1 a
# finding (or, with --selftest, the planted bug not found), 2 the fuzzer did not run properly.
set -uo pipefail

selftest=0
if [ "${1:-}" = "--selftest" ]; then selftest=1; shift; fi
[ $# -ge 3 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
fuzzer="$1" seeds="$2" work="$3"
seconds="${IPCBENCH_FUZZ_SECONDS:-${4:-60}}"
[ "$selftest" -eq 1 ] && seconds=60  # an upper bound: the bug is found in well under a second
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "run_fuzz: seconds must be a positive number" >&2; exit 2; }
[ -x "$fuzzer" ] || { echo "run_fuzz: no fuzzer at $fuzzer (was the build made?)" >&2; exit 2; }
[ -d "$seeds" ] || { echo "run_fuzz: no seed corpus at $seeds" >&2; exit 2; }

rm -rf "$work" && mkdir -p "$work/corpus" || exit 2
log="$work/fuzz.log"
env=()
[ "$selftest" -eq 1 ] && env=(IPCB_FUZZ_SELFTEST=1)
# -timeout: one input running 10 s is a hang, reported as a finding; `timeout` is the backstop
# should libFuzzer itself stop answering. New inputs go to corpus/ (first directory), never into
# the checked-in seeds.
status=0
env "${env[@]}" timeout -k 10 $((seconds + 60)) "$fuzzer" -max_total_time="$seconds" \
  -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
  "$work/corpus" "$seeds" >"$log" 2>&1 || status=$?

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
runs="$(stat number_of_executed_units)"
artifacts=("$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*)
found=()
for a in "${artifacts[@]}"; do [ -e "$a" ] && found+=("$a"); done

if [ "$selftest" -eq 1 ]; then
  # Found as the ring's own out-of-bounds access (ASan, first frame in ipcb::Ring), or as a
  # span the ring handed out beyond the region (the in_region property): not by the harness
  # overrunning on its own.
  first="$(grep -m1 -E '^ +#0 ' "$log")"
  how=""
  if grep -q "AddressSanitizer: heap-buffer-overflow" "$log" && [[ "$first" == *"ipcb::Ring::"* ]]
  then
    how="ASan in ${first#*in }"
  elif grep -q "fuzz property violated at .*: in_region" "$log"; then
    how="$(grep -m1 -o 'fuzz property violated at .*' "$log")"
  fi
  if [ ${#found[@]} -gt 0 ] && [ -n "$how" ]; then
    echo "run_fuzz: selftest passed: the planted overflow was found after ${runs:-?} runs: $how"
    exit 0
  fi
  tail -n 30 "$log"
  echo "run_fuzz: selftest FAILED: the planted overflow was not reported (status $status)" >&2
  exit 1
fi

if [ ${#found[@]} -gt 0 ]; then
  grep -E "ERROR|SUMMARY|violated|#[0-9]+ 0x" "$log" | head -n 40
  for a in "${found[@]}"; do echo "run_fuzz: FINDING $a (base64: $(base64 -w0 "$a"))"; done
  echo "run_fuzz: reproduce with: $fuzzer ${found[0]}" >&2
  exit 1
fi
if [ "$status" -ne 0 ] || [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
  tail -n 30 "$log"
  echo "run_fuzz: the fuzzer did not run properly (status $status, runs '${runs}')" >&2
  exit 2
fi
echo "run_fuzz: no finding in $seconds s: $runs runs, $(stat average_exec_per_sec) execs/s," \
  "$(find "$work/corpus" -type f | wc -l) new inputs, peak RSS $(stat peak_rss_mb) MB"
