// What `ipcbench run` adds for the rate workload and the sweeps: Google Benchmark's name of a
// spec (with the fixed iteration count it appends), which rate sweeps a --benchmark_filter can
// select (only those are probed), the check that --rate has a rate benchmark to apply to, and
// the sweeps' record for bench.json's context.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/plan/rate_sweep.h"
#include "harness/plan/suite.h"

namespace ipcb {

// Whether `filter` (--benchmark_filter) selects `spec`: by its name, a sweep by its own name
// (".../sweep") or any rate it could expand to, a rate a sweep chose also by its sweep's name.
bool filter_selects(const BenchSpec& spec, const std::string& filter);
// How many of `specs` (each run `repetitions` times) `filter` (--benchmark_filter, matched
// against the names ipcbench shows) selects. A sweep counts as selected when the filter selects
// any rate it could expand to; `sweeps_selected` says how many sweeps that is (their runs are
// counted once they are expanded).
size_t count_runs(const std::vector<BenchSpec>& specs, int repetitions, const std::string& filter,
                  size_t* sweeps_selected = nullptr);
// Drops the sweeps the filter cannot select (so none is probed for nothing).
void drop_unselected_sweeps(std::vector<BenchSpec>& specs, const std::string& filter);
// --rate given, but the run has no rate benchmark (run or skipped): one line saying so.
Status check_rate_flag(const SuiteOverrides& o, const Expansion& ex);
// "capacity 4.1M messages/s (closed-loop stream, probed in 0.25 s): 10 rates, 10k..5M".
std::string sweep_line(const SweepProbe& p);
// context.rate_sweeps: per sweep its name, capacity (messages/s), probe time and rates.
nlohmann::json sweeps_to_json(const std::vector<SweepProbe>& probes);

}  // namespace ipcb
