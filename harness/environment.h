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

}  // namespace ipcb
