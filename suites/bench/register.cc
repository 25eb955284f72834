// Google Benchmark registration of the matrix (see register.h).
#include "suites/bench/register.h"

#include <benchmark/benchmark.h>

#include "harness/workload.h"

namespace ipcb {
namespace {

class StateLoop final : public Loop {
 public:
  explicit StateLoop(benchmark::State& s) : s_(s) {}
  bool next() override { return s_.KeepRunning(); }
  // Manual time accumulates (Google Benchmark sums every SetIterationTime call), so a workload
  // may report per iteration (pingpong) or once for the whole loop (stream, whose last messages
  // are only delivered after the loop ends).
  void add_time(uint64_t ns) override { s_.SetIterationTime(static_cast<double>(ns) * 1e-9); }

 private:
  benchmark::State& s_;
};

double rate(uint64_t count, uint64_t ns) {
  return ns == 0 ? 0.0 : static_cast<double>(count) * 1e9 / static_cast<double>(ns);
}

void set_percentiles(benchmark::State& state, const std::string& prefix, const Histogram& h) {
  state.counters[prefix + "_p50_ns"] = static_cast<double>(h.percentile(0.50));
  state.counters[prefix + "_p90_ns"] = static_cast<double>(h.percentile(0.90));
  state.counters[prefix + "_p99_ns"] = static_cast<double>(h.percentile(0.99));
  state.counters[prefix + "_p999_ns"] = static_cast<double>(h.percentile(0.999));
  state.counters[prefix + "_max_ns"] = static_cast<double>(h.max());
}

void run_one(benchmark::State& state, const BenchSpec& spec, RunTally& tally) {
  const WorkloadInfo* w = find_workload(spec.workload);
  auto fail = [&](const std::string& msg) {
    tally.failures.push_back(spec.name() + ": " + msg);
    state.SkipWithError(msg.c_str());
  };
  auto session = Session::start(spec);
  if (!session) return fail(session.error().message());
  StateLoop loop(state);
  auto m = w->measure(**session, loop);
  if (!m) return fail((*session)->with_peer_state(m.error()).message());
  set_percentiles(state, "latency", m->latency);
  if (m->has_rtt) set_percentiles(state, "rtt", m->rtt);
  state.counters["latency_samples"] = static_cast<double>(m->latency.count());
  state.counters["latency_sample_every"] = static_cast<double>(m->sample_every);
  // Rates are computed from our own elapsed time, the same the manual timer was given.
  state.counters["bytes_per_second"] = rate(m->payload_bytes, m->elapsed_ns);
  state.counters["items_per_second"] = rate(m->messages, m->elapsed_ns);
  state.counters["messages"] = static_cast<double>(m->messages);
  state.counters["verified"] = static_cast<double>(m->verified);
  state.counters["errors"] = static_cast<double>(m->errors);
  if (m->errors != 0) {
    fail("verification failed: " + std::to_string(m->errors) + " errors; first: " + m->first_error);
  } else if (spec.verify != VerifyMode::kOff && m->verified != m->iterations) {
    fail("only " + std::to_string(m->verified) + " of " + std::to_string(m->iterations) +
         " measured messages were verified");
  }
}

}  // namespace

void register_benchmarks(const std::vector<BenchSpec>& specs, RunTally& tally) {
  for (const BenchSpec& spec : specs) {
    benchmark::RegisterBenchmark(spec.name().c_str(),
                                 [spec, &tally](benchmark::State& st) { run_one(st, spec, tally); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace ipcb
