// What the console shows while benchmarks run: one compact line per finished benchmark run
// (name, p50, p99, throughput, both sides' CPU per message, ratio to its floor, verdict) with
// a [done/total] counter and an estimate of the time left, in at most 120 columns; the full
// counters go to bench.json. --verbose shows Google Benchmark's own table instead.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ipcb {

class CompactReporter final : public benchmark::BenchmarkReporter {
 public:
  // `total`: the benchmark runs expected (after --benchmark_filter); 0 if unknown.
  CompactReporter(std::FILE* out, size_t total) : out_(out), total_(total) {}
  bool ReportContext(const Context&) override;
  void ReportRuns(const std::vector<Run>& runs) override;

  // One run's line, without the counter and the estimate (for tests).
  static std::string line(const Run& run);
  // "85 ns", "12.3 us", "4.1 ms", "2.0 s": 4 significant characters or so.
  static std::string duration(double ns);
  // "812 MB/s", "12.3 GB/s".
  static std::string rate(double bytes_per_second);

 private:
  std::FILE* out_;
  size_t total_;
  size_t done_ = 0;
  uint64_t start_ns_ = 0;
};

}  // namespace ipcb
