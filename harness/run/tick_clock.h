// A cheap clock for one thread's short intervals (a ping-pong's round trip): the TSC where it is
// safe to read on its own, else CLOCK_MONOTONIC. A clock read sits inside every interval it
// times; on a 2-vCPU AMD EPYC guest rdtsc costs 12 ns, clock_gettime 30 ns.
#pragma once

#include <cstdint>
#include <vector>

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
  // The clock's step in ns: the least change it shows (an AMD EPYC guest's TSC moves about 24
  // ticks, 10 ns, at a time; clock_gettime then moves in the same steps). 1 when it counts every
  // tick (or its step could not be seen with delays of up to about 5 us). Measured once, when
  // the clock is made. Histograms of intervals timed with this clock interpolate through it
  // (Histogram::set_resolution).
  double step_ns() const {
    return step_ns_;
  }
  double ns_per_tick() const {
    return ns_per_tick_;
  }
  // For the results: "rdtsc (invariant TSC, calibrated against CLOCK_MONOTONIC)" or
  // "clock_gettime(CLOCK_MONOTONIC)".
  const char* name() const;

 private:
  TickClock(bool tsc, double ns_per_tick);
  bool tsc_;
  double ns_per_tick_;
  double step_ns_ = 1;
};

// Whether the TSC may be used alone (see TickClock::best), from the CPUID bit and the kernel's
// clocksource name; split out so the rule can be tested.
bool tsc_usable(bool invariant_tsc, const char* clocksource);

// One interval a clock timed: an empty loop of `turns` turns between two reads.
struct TimedDelay {
  uint32_t turns;
  uint64_t ticks;
};
// A clock's step in its own ticks, from intervals it timed across delays of many lengths
// (`samples`, reordered): when the intervals fall into evenly spaced narrow groups (values within
// 2 ticks of each other form one group), each holding several different delays, the spacing;
// otherwise 1 (a clock that counts every tick reads each delay as its own length, and a step
// longer than the delays' span shows no spacing: the caller tries longer delays). Split out so
// the rule can be tested.
double clock_step_ticks(std::vector<TimedDelay> samples);

}  // namespace ipcb
