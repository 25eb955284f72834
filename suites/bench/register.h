// Registers the matrix with Google Benchmark: one benchmark per BenchSpec, named
// WORKLOAD/BACKEND/SYNC/SIZE_BYTES, measured with manual time (the workload's own clock) and
// reporting the counters every result carries.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/session.h"

namespace ipcb {

// Failures seen while the benchmarks ran; the run command exits non-zero if any.
struct RunTally {
  std::vector<std::string> failures;  // "NAME: what went wrong"
  // Per benchmark name: the descriptive fields of its results (wait_mode, copy mode, placement,
  // fan, ...) that are text, not counters; merged into every bench.json entry of that name.
  nlohmann::json fields = nlohmann::json::object();
};

void register_benchmarks(const std::vector<BenchSpec>& specs, RunTally& tally);

}  // namespace ipcb
