// Google Benchmark with an in-memory JSON copy of its results (see run.h).
#include "suites/bench/run.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "harness/report/report.h"
#include "suites/arg_vector.h"
#include "suites/bench/console.h"

namespace ipcb {
namespace {

// The console for the user, JSON into a string for bench.json: one set of runs, two formats.
class TeeReporter final : public benchmark::BenchmarkReporter {
 public:
  explicit TeeReporter(benchmark::BenchmarkReporter& console) : console_(console) {
    json_.SetOutputStream(&buf_);
    json_.SetErrorStream(&buf_);
  }
  bool ReportContext(const Context& context) override {
    bool a = console_.ReportContext(context);
    bool b = json_.ReportContext(context);
    return a && b;
  }
  void ReportRuns(const std::vector<Run>& runs) override {
    console_.ReportRuns(runs);
    json_.ReportRuns(runs);
  }
  void Finalize() override {
    console_.Finalize();
    json_.Finalize();
  }
  std::string text() const { return buf_.str(); }

 private:
  benchmark::BenchmarkReporter& console_;
  benchmark::JSONReporter json_;
  std::ostringstream buf_;
};

}  // namespace

std::string strip_iterations(const std::string& name) {
  static const std::regex kIterations("/iterations:[0-9]+");
  return std::regex_replace(name, kIterations, "");
}

std::string filter_error(const std::string& filter) {
  if (filter.empty() || filter == "all") return "";
  try {
    const std::regex re(filter[0] == '-' ? filter.substr(1) : filter);
  } catch (const std::regex_error& e) {
    return std::string("not a regular expression (") + e.what() + ")";
  }
  return "";
}

size_t count_matching(const std::vector<std::string>& names, const std::string& filter) {
  if (filter.empty() || filter == "all" || filter == ".") return names.size();
  // Google Benchmark 1.7.1: a leading '-' negates the filter; std::regex search on the name.
  const bool negate = filter[0] == '-';
  try {
    const std::regex re(negate ? filter.substr(1) : filter);
    return static_cast<size_t>(std::count_if(names.begin(), names.end(), [&](const auto& n) {
      return std::regex_search(n, re) != negate;
    }));
  } catch (const std::regex_error&) {
    return 0;  // Google Benchmark refuses it too
  }
}

Result<BenchRun> run_registered_benchmarks(const std::vector<std::string>& gbench_args,
                                           const ConsoleOptions& console) {
  ArgVector args("ipcbench", gbench_args);
  benchmark::Initialize(&args.argc, args.argv());
  if (benchmark::ReportUnrecognizedArguments(args.argc, args.argv())) {
    return plain_error("run", "Google Benchmark did not take the flags above");
  }
  BenchRun out;
  for (const auto& a : gbench_args) {
    if (a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true") out.listed_only = true;
  }
  benchmark::ConsoleReporter full(::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color
                                                          : benchmark::ConsoleReporter::OO_None);
  CompactReporter compact(stdout, console.total);
  TeeReporter tee(console.verbose ? static_cast<benchmark::BenchmarkReporter&>(full) : compact);
  benchmark::RunSpecifiedBenchmarks(&tee);
  benchmark::Shutdown();
  if (out.listed_only) return out;
  // Google Benchmark reports nothing at all when its filter matched none of the benchmarks.
  if (tee.text().empty())
    return plain_error("--benchmark_filter", "matches no benchmark of this run");
  IPCB_TRY(out.json, parse_bench_json(tee.text(), "Google Benchmark's results"));
  // A fixed iteration count (--iterations) makes Google Benchmark add "/iterations:N" to every
  // name; the names stay WORKLOAD/BACKEND/SYNC/SIZE (the count is in "iterations").
  for (auto& b : out.json["benchmarks"]) {
    for (const char* key : {"name", "run_name"}) {
      if (b.contains(key) && b[key].is_string()) b[key] = strip_iterations(b[key]);
    }
  }
  return out;
}

}  // namespace ipcb
