// What a result needs to describe itself: kernel, CPU, clock, pinning, build. Captured once per
// run and written into bench.json's context.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ipcb {

inline constexpr const char* kVersion = "0.1.0";
inline constexpr int kSchemaVersion = 1;

// Mean cost of one CLOCK_MONOTONIC read in ns (measured once, then cached).
uint64_t timer_cost_ns();

struct Placement {
  std::string name;  // "cross" (different CPUs), "same" (one CPU) or "free" (not pinned)
  int cpu_self = -1;
  int cpu_peer = -1;
};

// kernel, cpu_model, cpu_count, governor, clocksource, timer_cost_ns, build_type, versions, and
// the placements the run uses. Call before any thread is pinned (it records the allowed CPUs).
nlohmann::json capture_environment(const std::vector<Placement>& placements);

// Adds to `env` (from capture_environment) what decides whether two runs' numbers may be
// compared: `comparability`, an object of the machine's facts (CPU model, count and allowed
// set, kernel, governor, clocksource, SMT, transparent huge pages, placements, build type,
// compiler, and the topology's summary when `env` has one) and the run's settings from `config`
// (suite, matrices, verify, min time, repetitions, deadlines, waiter tuning, mmap folder,
// --inject-ns, perf counting on or off), and `comparability_key`,
// its hash (16 hex digits, XXH3-64 of the object's JSON). Runs with different keys differ in
// something that moves the numbers; the report tools name what.
void add_comparability(nlohmann::json& env, const nlohmann::json& config);

}  // namespace ipcb
