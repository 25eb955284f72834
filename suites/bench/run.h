// Runs the registered benchmarks under Google Benchmark and returns its JSON in memory: the
// console gets Google Benchmark's usual table while the same runs are formatted by its JSON
// reporter into a string, so no file is written until ipcbench writes bench.json itself
// (atomically, once the results are complete).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

// Google Benchmark's flags as ipcbench passes them on: --benchmark_out*, which would write a
// second, raw file, and --benchmark_repetitions, which ipcbench implements itself (see
// register.h), are taken out by the caller.
struct BenchRun {
  nlohmann::json json;       // Google Benchmark's JSON document ("context", "benchmarks")
  bool listed_only = false;  // --benchmark_list_tests: names printed, nothing ran
};
struct ConsoleOptions {
  size_t total = 0;      // runs expected (see count_matching), for the [done/total] counter
  bool verbose = false;  // Google Benchmark's own table (every counter) instead of ours
};
Result<BenchRun> run_registered_benchmarks(const std::vector<std::string>& gbench_args,
                                           const ConsoleOptions& console);
// `name` without the "/iterations:N" Google Benchmark adds for a fixed iteration count.
std::string strip_iterations(const std::string& name);
// How many of `names` (full benchmark names) Google Benchmark's --benchmark_filter selects.
size_t count_matching(const std::vector<std::string>& names, const std::string& filter);
// Why `filter` is no regular expression ("" when it is one).
std::string filter_error(const std::string& filter);

}  // namespace ipcb
