// Google Benchmark with an in-memory JSON copy of its results (see run.h).
#include "suites/bench/run.h"

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <sstream>

#include "harness/report.h"

namespace ipcb {
namespace {

// Console table for the user, JSON into a string for bench.json: one set of runs, two formats.
class TeeReporter final : public benchmark::BenchmarkReporter {
 public:
  TeeReporter()
      : console_(::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color
                                         : benchmark::ConsoleReporter::OO_None) {
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
  benchmark::ConsoleReporter console_;
  benchmark::JSONReporter json_;
  std::ostringstream buf_;
};

}  // namespace

Result<BenchRun> run_registered_benchmarks(const std::vector<std::string>& gbench_args) {
  std::vector<std::string> args = {"ipcbench"};
  args.insert(args.end(), gbench_args.begin(), gbench_args.end());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  int argc = static_cast<int>(argv.size());
  argv.push_back(nullptr);
  benchmark::Initialize(&argc, argv.data());
  if (benchmark::ReportUnrecognizedArguments(argc, argv.data())) {
    return plain_error("run", "Google Benchmark did not take the flags above");
  }
  BenchRun out;
  for (const auto& a : gbench_args) {
    if (a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true") out.listed_only = true;
  }
  TeeReporter tee;
  benchmark::RunSpecifiedBenchmarks(&tee);
  benchmark::Shutdown();
  if (out.listed_only) return out;
  // Google Benchmark reports nothing at all when its filter matched none of the benchmarks.
  if (tee.text().empty())
    return plain_error("--benchmark_filter", "matches no benchmark of this run");
  IPCB_TRY(out.json, parse_bench_json(tee.text(), "Google Benchmark's results"));
  return out;
}

}  // namespace ipcb
