"""bench.csv is tidy: a real ipcbench run's CSV loads into csv.DictReader and pivots by backend,
size and mode from its own columns, without parsing benchmark names.

Usage: e2e_csv.py IPCBENCH_BINARY
"""
import csv
import os
import subprocess
import sys
import tempfile
from collections import defaultdict


def main(binary):
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [binary, "run", "--backend", "posix_shm,pipe", "--sync", "spin,block", "--workload",
             "pingpong,stream", "--size", "64,4K", "--min-time", "0.005", "--repetitions", "2",
             "--no-floors", "--out", out],
            capture_output=True, text=True, timeout=200)
        assert run.returncode == 0, run.stdout + run.stderr
        with open(os.path.join(out, "bench.csv"), newline="") as f:
            rows = list(csv.DictReader(f))
    for column in ("workload", "backend", "sync", "size_bytes", "mode", "placement", "fan",
                   "repetition", "aggregate", "latency_p50_ns", "bytes_per_second"):
        assert column in rows[0], "bench.csv has no column " + column
    # The pivot: median p50 per backend and size, from the aggregate rows alone.
    pivot = defaultdict(dict)
    for r in rows:
        if r["aggregate"] == "median" and r["workload"] == "pingpong" and r["mode"] == "copy":
            pivot[r["backend"]][int(r["size_bytes"])] = float(r["latency_p50_ns"])
    assert set(pivot) == {"posix_shm", "pipe"}, dict(pivot)
    for backend, by_size in pivot.items():
        assert set(by_size) == {64, 4096}, (backend, by_size)
        assert all(v > 0 for v in by_size.values()), (backend, by_size)
    # Repetition rows carry their index; aggregate rows name their statistic.
    reps = {r["repetition"] for r in rows if r["run_type"] == "iteration"}
    assert reps == {"0", "1"}, reps
    print("bench.csv pivots by backend and size:", {b: v for b, v in pivot.items()})


if __name__ == "__main__":
    main(sys.argv[1])
