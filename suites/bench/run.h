// Runs the registered benchmarks under Google Benchmark and returns its JSON in memory: the
// console gets Google Benchmark's usual table while the same runs are formatted by its JSON
// reporter into a string, so no file is written until ipcbench writes bench.json itself
// (atomically, once the results are complete).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/error.h"

namespace ipcb {

// Google Benchmark's flags as ipcbench passes them on: --benchmark_out*, which would write a
// second, raw file, and --benchmark_repetitions, which ipcbench implements itself (see
// register.h), are taken out by the caller.
struct BenchRun {
  nlohmann::json json;       // Google Benchmark's JSON document ("context", "benchmarks")
  bool listed_only = false;  // --benchmark_list_tests: names printed, nothing ran
};
Result<BenchRun> run_registered_benchmarks(const std::vector<std::string>& gbench_args);

}  // namespace ipcb
