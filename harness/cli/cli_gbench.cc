// See cli_gbench.h.
#include "harness/cli/cli_gbench.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ipcb {
namespace {

// Google Benchmark 1.7.1's flags. It checks them only once the benchmarks start (after the
// floors and the preflight), so they are checked here first.
constexpr const char* kGbenchFlags[] = {"--benchmark_list_tests",
                                        "--benchmark_filter",
                                        "--benchmark_min_time",
                                        "--benchmark_min_warmup_time",
                                        "--benchmark_repetitions",
                                        "--benchmark_enable_random_interleaving",
                                        "--benchmark_report_aggregates_only",
                                        "--benchmark_display_aggregates_only",
                                        "--benchmark_format",
                                        "--benchmark_out",
                                        "--benchmark_out_format",
                                        "--benchmark_color",
                                        "--benchmark_counters_tabular",
                                        "--benchmark_context",
                                        "--benchmark_time_unit",
                                        "--benchmark_perf_counters"};

}  // namespace

Result<GbenchFlags> sort_gbench_flags(const std::vector<std::string>& given) {
  GbenchFlags f;
  for (const auto& g : given) {
    auto eq = g.find('=');
    std::string key = g.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : g.substr(eq + 1);
    if (std::find(std::begin(kGbenchFlags), std::end(kGbenchFlags), key) ==
        std::end(kGbenchFlags)) {
      return plain_error(key, "not a flag of Google Benchmark 1.7.1 (see ipcbench run --help)");
    }
    if (key == "--benchmark_out" || key == "--benchmark_out_format") {
      return plain_error(key, "ipcbench writes bench.json (and bench.csv) into --out DIR itself");
    }
    if (key == "--benchmark_repetitions") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 1000) {
        return plain_error(g, "expected a number of repetitions from 1 to 1000");
      }
      f.repetitions = static_cast<int>(n);
      continue;
    }
    if (key == "--benchmark_min_time") {
      char* end = nullptr;
      double t = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !std::isfinite(t) || t <= 0 || t > 3600) {
        return plain_error(g, "expected seconds, more than 0 and at most 3600");
      }
      f.min_time_s = t;
    }
    if (key == "--benchmark_report_aggregates_only") {
      f.aggregates_only = value.empty() || value == "true" || value == "1";
      continue;
    }
    f.pass.push_back(g);
  }
  return f;
}

}  // namespace ipcb
