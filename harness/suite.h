// Suites: a named set of (workload x backend x sync x size) plus run settings, kept as a TOML
// file under suites/. Command-line flags narrow or override it; the result is the matrix of
// BenchSpecs to register. Invalid combinations are rejected here, never inside a timed loop.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/error.h"
#include "harness/session.h"

namespace ipcb {

struct Suite {
  std::string name;
  std::string description;
  std::vector<std::string> workloads;  // "all" expands to every workload
  std::vector<std::string> backends;   // "all" expands to every backend
  std::vector<std::string> syncs;      // "all" expands to every sync valid for a backend
  std::vector<size_t> sizes;           // payload bytes
  VerifyMode verify = VerifyMode::kFull;
  double min_time_s = 0.1;  // Google Benchmark's --benchmark_min_time
  int repetitions = 1;
  uint64_t stall_ms = 5000;
};

// What the user said on the command line; unset fields keep the suite's values.
struct SuiteOverrides {
  std::vector<std::string> workloads, backends, syncs, sizes;
  std::optional<std::string> verify;
  std::optional<int> repetitions;
  std::optional<double> min_time_s;
  std::optional<uint64_t> stall_ms;
};

// The directory holding the built-in suites (the source tree's suites/, or next to the binary).
std::string suite_directory();
// Loads a suite by name ("default" -> suites/default.toml) or by path.
Result<Suite> load_suite(const std::string& name_or_path);
Result<Suite> parse_suite(const std::string& toml_text, const std::string& origin);
Status apply_overrides(Suite& suite, const SuiteOverrides& o);

// "64", "4K", "1M" (powers of 1024). Rejects 0, garbage and anything above kMaxPayload.
inline constexpr size_t kMaxPayload = 64ull << 20;
Result<size_t> parse_size(const std::string& text);
std::string size_label(size_t bytes);  // 65536 -> "64K"

// Expands the suite into BenchSpecs (pins and stall deadline filled in).
Result<std::vector<BenchSpec>> expand(const Suite& suite, int cpu_self, int cpu_peer);

}  // namespace ipcb
