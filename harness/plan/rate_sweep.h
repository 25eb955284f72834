// `--rate sweep`: the rates of a sweep depend on what the mechanism can carry here, so before
// the run each rate benchmark that stands for a sweep (".../sweep") is replaced by one benchmark
// per rate of sweep_rates(capacity) (harness/run/rate.h): the 1-2-5 ladder up to and including the
// first rate at or above twice the capacity, so the last points saturate. The capacity is what a
// closed-loop stream of the same backend, sync, size, copy mode and placement achieves
// (messages per second, about 0.1 s, pinned like the benchmark).
#pragma once

#include <string>
#include <vector>

#include "harness/run/session.h"

namespace ipcb {

struct SweepProbe {
  std::string name;     // the sweep's name, ".../sweep"
  double capacity = 0;  // messages per second of the closed-loop stream
  double seconds = 0;   // the probe's own time
  std::vector<uint64_t> rates;
  std::string error;  // the probe failed: the sweep is not run (its benchmark fails with this)
};

// Replaces every spec with `sweep` set by its rates (each with its fixed message count for
// `min_time_s` and `probed_capacity` set); the thread's CPU affinity is restored afterwards.
std::vector<SweepProbe> expand_rate_sweeps(std::vector<BenchSpec>& specs, double min_time_s);

}  // namespace ipcb
