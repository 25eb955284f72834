// The blocking hand-off floors: one-way time of a futex and of a pipe hand-off between two
// processes (this one and a forked child, pinned like the run's two sides), what every blocking
// inter-process mechanism pays at least. Threads of one process would be faster than any two
// processes can be (no address-space switch, private futexes), so they are not the floor.
#pragma once

#include <cstdint>

namespace ipcb {

struct Handoff {
  double median = 0;  // the reference a result is compared with
  // The fastest tenth: a hand-off between vCPUs is bimodal (fast when the other CPU had not
  // gone to sleep yet, and a run may spend more time in that mode), so this bounds what a
  // result can reach.
  double fast = 0;
};

// Each is one ping-pong between a new pair of processes: 50 ms not timed (a new pair's first
// hand-offs are faster than its later ones, which a benchmark measures), then budget_ns (at
// least 50 ms) timed. Zeros when the child could not be made. cpu < 0: not pinned.
inline constexpr uint64_t kHandoffWarmUpNs = 50'000'000;
inline constexpr uint64_t kHandoffMinMeasureNs = 50'000'000;
Handoff futex_handoff_floor(int cpu_a, int cpu_b, uint64_t budget_ns);
Handoff pipe_handoff_floor(int cpu_a, int cpu_b, uint64_t budget_ns);

}  // namespace ipcb
