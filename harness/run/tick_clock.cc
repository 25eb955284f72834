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

// Intervals the clock `read` times across `samples` busy delays of 0 to `max_turns` - 1 turns
// of an empty loop (about a cycle each), so a clock that counts every tick shows every length in
// between.
template <typename Read>
std::vector<TimedDelay> timed_delays(Read read, unsigned samples, unsigned max_turns) {
  std::vector<TimedDelay> out;
  out.reserve(samples);
  for (unsigned i = 0; i < samples; ++i) {
    const unsigned turns = static_cast<unsigned>((uint64_t{i} * 7919) % max_turns);
    const uint64_t t0 = read();
    for (unsigned k = 0; k < turns; ++k) asm volatile("" ::: "memory");
    out.push_back({turns, read() - t0});
  }
  return out;
}

}  // namespace

double clock_step_ticks(std::vector<TimedDelay> samples) {
  std::sort(samples.begin(), samples.end(),
            [](const TimedDelay& x, const TimedDelay& y) { return x.ticks < y.ticks; });
  // Groups of intervals each within 2 ticks of the previous one: their centres, their widths
  // and how many different delays each holds.
  struct Group {
    double centre;
    uint64_t width;
    size_t delays;
  };
  std::vector<Group> groups;
  for (size_t i = 0; i < samples.size();) {
    size_t j = i;
    while (j + 1 < samples.size() && samples[j + 1].ticks - samples[j].ticks <= 2) ++j;
    std::vector<uint32_t> turns;
    for (size_t k = i; k <= j; ++k) turns.push_back(samples[k].turns);
    std::sort(turns.begin(), turns.end());
    const size_t delays =
        static_cast<size_t>(std::unique(turns.begin(), turns.end()) - turns.begin());
    groups.push_back({static_cast<double>(samples[i].ticks + samples[j].ticks) / 2,
                      samples[j].ticks - samples[i].ticks, delays});
    i = j + 1;
  }
  if (groups.size() < 4) return 1;
  // A clock that moves in steps reads many different delays as the same interval; one that
  // counts every tick reads each delay as its own (with reads of steady cost, those too fall
  // into evenly spaced narrow groups, one delay each: the loop's steps, not the clock's).
  std::vector<size_t> per_group;
  for (const Group& g : groups) per_group.push_back(g.delays);
  std::nth_element(per_group.begin(),
                   per_group.begin() + static_cast<std::ptrdiff_t>(per_group.size() / 2),
                   per_group.end());
  if (per_group[per_group.size() / 2] < 3) return 1;
  std::vector<double> gaps;
  uint64_t widest = 0;
  for (size_t i = 1; i < groups.size(); ++i)
    gaps.push_back(groups[i].centre - groups[i - 1].centre);
  for (const Group& g : groups) widest = std::max(widest, g.width);
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
  // Delays of up to about 0.1, 0.7 and 5 us (fewer samples for the longer ones, a few ms in
  // all): a step must show as several groups of intervals. The first finds this AMD EPYC
  // guest's 10 ns; a 70 ns step (HPET's period) needs the second in a synthetic test, and
  // acpi_pm's 280 ns period would need the third (not tried on a real one).
  const auto read = [this] { return now(); };
  double ticks = 1;
  for (auto [samples, turns] : {std::pair{4096u, 256u}, {2048u, 2048u}, {1024u, 16384u}}) {
    ticks = clock_step_ticks(timed_delays(read, samples, turns));
    if (ticks > 1) break;
  }
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
