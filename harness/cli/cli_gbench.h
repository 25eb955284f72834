// Google Benchmark's own flags on `ipcbench run`: checked before anything runs, and sorted into
// those ipcbench implements itself and those it passes on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

// Google Benchmark's flags, sorted into those ipcbench implements itself and those it passes on.
struct GbenchFlags {
  std::vector<std::string> pass;
  std::optional<int> repetitions;
  bool aggregates_only = false;
  double min_time_s = 0;  // --benchmark_min_time, when given
};

// Checks every --benchmark_* flag (one clear error for a bad one) and sorts them.
Result<GbenchFlags> sort_gbench_flags(const std::vector<std::string>& given);

}  // namespace ipcb
