#!/usr/bin/env bash
# Regenerates the fixture result folders under fixtures/ with a real ipcbench binary (they are
# committed; the report tests read them). Small on purpose: narrow runs, short min time.
#   tests/reports/make_fixtures.sh [path/to/ipcbench]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../../build/release/harness/ipcbench}"
fx="$here/fixtures"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# sizes: pingpong and stream over three sizes (one skipped by a kernel limit), fanin/fanout.
cat >"$tmp/sizes.toml" <<'TOML'
name = "report-fixture"
description = "pingpong and stream at 64 B, 4 KiB, 64 KiB; fanin and fanout at 4 KiB"
min_time = 0.01
repetitions = 1
fan = 2
[[matrix]]
workloads = ["pingpong", "stream"]
backends = ["posix_shm", "pipe", "posix_mq"]
syncs = ["spin", "futex", "block"]
sizes = ["64", "4K", "64K"]
[[matrix]]
workloads = ["fanin", "fanout"]
backends = ["posix_shm", "pipe"]
syncs = ["futex", "block"]
sizes = ["4K"]
TOML
run() {
  local out="$1"; shift
  rm -rf "$out"
  "$bin" run --out "$out" "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
  rm -f "$out/bench.csv" "$out/summary.md" "$out/.ipcbench.lock"
}
run "$fx/sizes" --suite "$tmp/sizes.toml"
# fan4: the same fan workloads with four peers (scaling across two folders).
run "$fx/fan4" --workload fanin,fanout --backend posix_shm,pipe --sync futex,block --size 4K \
  --fan 4 --min-time 0.01
# rate: the open-loop rate workload at three offered rates, the last beyond what a pipe carries
# here (saturated), shared memory with futex below its saturation.
run "$fx/rate" --workload rate --backend pipe,posix_shm --sync block,futex --size 64 \
  --rate 10k,100k,5M --min-time 0.05 --placement cross
# placements: both placements and both copy modes, so names carry /PLACEMENT and /inplace.
run "$fx/placements" --workload pingpong --backend posix_shm --sync futex --size 64 \
  --mode copy,inplace --placement cross,same --min-time 0.01
# sleep20 / sleep200: the sleep waiter at two intervals, futex alongside; 5 repetitions each.
for us in 20 200; do
  run "$fx/sleep$us" --workload pingpong --backend posix_shm --sync sleep,futex --size 64 \
    --placement same --sleep-us "$us" --repetitions 5 --min-time 0.01
done
# These four predate floors and histograms.json: they check that reports still read such runs.
rm -f "$fx"/{sizes,fan4,placements,sleep20,sleep200}/histograms.json
# which: what the "which mechanism" charts and answers need: floors, histograms.json, both
# placements, 2 repetitions (error bars), spinning, blocking and adaptive waiters; and
# conformance.json from `ipcbench conform` beside it.
cat >"$tmp/which.toml" <<'TOML'
name = "report-which"
description = "pingpong 64 B and stream 4 KiB, spinning, blocking and adaptive waiters, both placements"
min_time = 0.01
repetitions = 2
placements = ["cross", "same"]
backends = ["posix_shm", "pipe"]
syncs = ["spin", "futex", "adaptive", "block", "busy"]
[[matrix]]
workloads = ["pingpong"]
sizes = ["64"]
[[matrix]]
workloads = ["stream"]
sizes = ["4K"]
TOML
run "$fx/which" --suite "$tmp/which.toml"
"$bin" conform --out "$fx/which" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
du -sh "$fx"

# aa-rounds.json: real A/A rounds of the ci suite as scripts/ci-regression runs them (the same
# binary as both sides, a b a b ...), packed small (aa_rounds.py). Set AA_ROUNDS=0 to skip.
rounds="${AA_ROUNDS:-16}"
if [ "$rounds" -gt 0 ]; then
  for r in $(seq 1 "$rounds"); do
    for side in a b; do
      run "$tmp/aa/$side/round-$r" --suite ci --repetitions 2 --no-floors
    done
  done
  py="$("$here/../../scripts/ipcreport" --python)"
  "$py" "$here/aa_rounds.py" "$tmp/aa"
fi
