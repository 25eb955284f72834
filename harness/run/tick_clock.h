// A cheap clock for one thread's short intervals (a ping-pong's round trip): the TSC where it is
// safe to read on its own, else CLOCK_MONOTONIC. A clock read sits inside every interval it
// times; on a 2-vCPU AMD EPYC guest rdtsc costs 12 ns, clock_gettime 30 ns.
#pragma once

#include <cstdint>

#include "harness/sys/sys.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ipcb {

class TickClock {
 public:
  // The TSC when this is x86-64, the CPU says its TSC is invariant (constant rate in every
  // power state: CPUID 0x80000007 EDX bit 8) and the kernel itself keeps time with it (its
  // clocksource is "tsc", so it judged the TSCs of all CPUs synchronised); else
  // CLOCK_MONOTONIC. The TSC's rate is calibrated against CLOCK_MONOTONIC once per process
  // (about 10 ms, on the first call).
  static const TickClock& best();
  // CLOCK_MONOTONIC itself (ticks are nanoseconds).
  static const TickClock& monotonic();

  uint64_t now() const {
#if defined(__x86_64__)
    if (tsc_) return __rdtsc();
#endif
    return sys::now_ns();
  }
  // Nanoseconds in an interval of `ticks`.
  uint64_t to_ns(uint64_t ticks) const {
    return tsc_ ? static_cast<uint64_t>(static_cast<double>(ticks) * ns_per_tick_ + 0.5) : ticks;
  }
  bool tsc() const {
    return tsc_;
  }
  double ns_per_tick() const {
    return ns_per_tick_;
  }
  // For the results: "rdtsc (invariant TSC, calibrated against CLOCK_MONOTONIC)" or
  // "clock_gettime(CLOCK_MONOTONIC)".
  const char* name() const;

 private:
  TickClock(bool tsc, double ns_per_tick) : tsc_(tsc), ns_per_tick_(ns_per_tick) {}
  bool tsc_;
  double ns_per_tick_;
};

// Whether the TSC may be used alone (see TickClock::best), from the CPUID bit and the kernel's
// clocksource name; split out so the rule can be tested.
bool tsc_usable(bool invariant_tsc, const char* clocksource);

}  // namespace ipcb
