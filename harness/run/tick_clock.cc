// TickClock (see tick_clock.h).
#include "harness/run/tick_clock.h"

#include <cstring>
#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ipcb {
namespace {

bool cpu_has_invariant_tsc() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000007) return false;
  __cpuid(0x80000007, a, b, c, d);
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

std::string clocksource() {
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string s;
  std::getline(f, s);
  return s;
}

// Ticks per nanosecond over about 10 ms of CLOCK_MONOTONIC (each end read between two TSC
// reads, so the pairing error is a clock read: about 5 ppm here).
double calibrate_ns_per_tick() {
#if defined(__x86_64__)
  auto pair = [](uint64_t& ns, uint64_t& tsc) {
    uint64_t a = __rdtsc();
    ns = sys::now_ns();
    uint64_t b = __rdtsc();
    tsc = a + (b - a) / 2;
  };
  uint64_t ns0, tsc0, ns1, tsc1;
  pair(ns0, tsc0);
  do {
    pair(ns1, tsc1);
  } while (ns1 - ns0 < 10'000'000);
  return tsc1 > tsc0 ? static_cast<double>(ns1 - ns0) / static_cast<double>(tsc1 - tsc0) : 0;
#else
  return 0;
#endif
}

}  // namespace

bool tsc_usable(bool invariant_tsc, const char* source) {
  return invariant_tsc && std::strcmp(source, "tsc") == 0;
}

const TickClock& TickClock::best() {
  static const TickClock clock = [] {
    if (!tsc_usable(cpu_has_invariant_tsc(), clocksource().c_str())) return TickClock(false, 1);
    double rate = calibrate_ns_per_tick();
    return rate > 0 ? TickClock(true, rate) : TickClock(false, 1);
  }();
  return clock;
}

const TickClock& TickClock::monotonic() {
  static const TickClock clock(false, 1);
  return clock;
}

const char* TickClock::name() const {
  return tsc_ ? "rdtsc (invariant TSC, calibrated against CLOCK_MONOTONIC)"
              : "clock_gettime(CLOCK_MONOTONIC)";
}

}  // namespace ipcb
