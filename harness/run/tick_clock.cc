// TickClock (see tick_clock.h).
#include "harness/run/tick_clock.h"

#include <algorithm>
#include <cmath>
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

// Intervals the clock `read` times across busy delays of 0 to 255 turns of an empty loop (about
// a cycle each, a few hundred ns in all), so a clock that counts every tick shows every length in
// between.
template <typename Read>
std::vector<uint64_t> timed_delays(Read read) {
  std::vector<uint64_t> deltas;
  deltas.reserve(4096);
  for (unsigned i = 0; i < 4096; ++i) {
    const uint64_t t0 = read();
    for (unsigned k = 0; k < (i * 37) % 256; ++k) asm volatile("" ::: "memory");  // ~1 cycle
    deltas.push_back(read() - t0);
  }
  return deltas;
}

}  // namespace

double clock_step_ticks(std::vector<uint64_t> deltas) {
  std::sort(deltas.begin(), deltas.end());
  deltas.erase(std::unique(deltas.begin(), deltas.end()), deltas.end());
  // Groups of values each within 2 ticks of the previous one: their centres and widths.
  std::vector<double> centres;
  uint64_t widest = 0;
  for (size_t i = 0; i < deltas.size();) {
    size_t j = i;
    while (j + 1 < deltas.size() && deltas[j + 1] - deltas[j] <= 2) ++j;
    centres.push_back(static_cast<double>(deltas[i] + deltas[j]) / 2);
    widest = std::max(widest, deltas[j] - deltas[i]);
    i = j + 1;
  }
  if (centres.size() < 4) return 1;
  std::vector<double> gaps;
  for (size_t i = 1; i < centres.size(); ++i) gaps.push_back(centres[i] - centres[i - 1]);
  std::vector<double> sorted = gaps;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2),
                   sorted.end());
  const double typical = sorted[sorted.size() / 2];
  // Evenly spaced: every gap between near groups a whole number of steps (a length never seen
  // skips one); a group far from the others (an interrupted interval) says nothing. And no group
  // wider than a quarter step: a clock that counts every tick makes one wide group.
  double sum_gaps = 0;
  double sum_steps = 0;
  for (double g : gaps) {
    const double n = std::round(g / typical);
    if (n > 4) continue;
    if (n < 1 || std::abs(g - n * typical) > 0.15 * typical) return 1;
    sum_gaps += g;
    sum_steps += n;
  }
  if (sum_steps < 3) return 1;
  const double step = sum_gaps / sum_steps;
  if (step < 2 || static_cast<double>(widest) > step / 4) return 1;
  return step;
}

TickClock::TickClock(bool tsc, double ns_per_tick) : tsc_(tsc), ns_per_tick_(ns_per_tick) {
  const double ticks = clock_step_ticks(timed_delays([this] { return now(); }));
  step_ns_ = std::max(1.0, ticks * (tsc_ ? ns_per_tick_ : 1.0));
}

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
