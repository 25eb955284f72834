// Histogram: percentiles against a sorted reference within 1%, merging and serialisation,
// interpolation through a clock's step; TickClock's step detection.
#include "harness/run/histogram.h"
#include "harness/run/tick_clock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace ipcb {
namespace {

uint64_t reference(std::vector<uint64_t> v, double q) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  rank = std::clamp<size_t>(rank, 1, v.size());
  return v[rank - 1];
}

TEST(Histogram, PercentilesWithinOnePercentOfSortedReference) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(9.0, 1.5);  // ~8 us median, long tail
  for (int trial = 0; trial < 5; ++trial) {
    Histogram h;
    std::vector<uint64_t> values;
    for (int i = 0; i < 100000; ++i) {
      uint64_t v = static_cast<uint64_t>(dist(rng)) + 1;
      values.push_back(v);
      h.record(v);
    }
    for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
      double want = static_cast<double>(reference(values, q));
      double got = static_cast<double>(h.percentile(q));
      EXPECT_LE(std::abs(got - want) / want, 0.01)
          << "q=" << q << " want " << want << " got " << got;
    }
    EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
    EXPECT_EQ(h.count(), values.size());
  }
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 128; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 63u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 127u);
}

TEST(Histogram, BucketsTileTheRange) {
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::bucket_high(b) + 1, Histogram::bucket_low(b + 1)) << b;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_low(b)), b);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_high(b)), b);
  }
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 1; v < 50000; v += 7) {
    (v % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  for (double q : {0.1, 0.5, 0.99}) EXPECT_EQ(a.percentile(q), all.percentile(q));
  EXPECT_EQ(a.count(), all.count());
}

TEST(Histogram, SerializeRoundTripsAndRejectsGarbage) {
  Histogram h;
  for (uint64_t v = 100; v < 1000000; v *= 3) h.record(v);
  auto back = Histogram::parse(h.serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->count(), h.count());
  EXPECT_EQ(back->percentile(0.5), h.percentile(0.5));
  EXPECT_FALSE(Histogram::parse("3 1 2 3 5:1").ok());      // counts do not add up
  EXPECT_FALSE(Histogram::parse("1 1 1 1 99999:1").ok());  // bucket out of range
  EXPECT_FALSE(Histogram::parse("nonsense").ok());
}

// Intervals of true length `ns` read with a clock that moves in `step`s from a random phase:
// what a TSC that advances 10 ns at a time reports.
uint64_t read_with_step(double ns, double step, std::mt19937_64& rng) {
  const double start = std::uniform_real_distribution<double>(0, step)(rng);
  const double q0 = std::floor(start / step) * step;
  const double q1 = std::floor((start + ns) / step) * step;
  return static_cast<uint64_t>(std::llround(q1 - q0));
}

TEST(Histogram, PercentilesInterpolateThroughTheClockStep) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> truth(143.0, 4.0);
  Histogram plain, stepped;
  stepped.set_resolution(10);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = read_with_step(truth(rng), 10, rng);
    ASSERT_EQ(v % 10, 0u);
    plain.record(v);
    stepped.record(v);
  }
  // The nearest rank lands on a multiple of the step, 3 ns off; the interpolation finds 143.
  EXPECT_EQ(static_cast<uint64_t>(plain.percentile(0.5)) % 10, 0u);
  EXPECT_GE(std::abs(plain.percentile(0.5) - 143.0), 3.0);
  EXPECT_NEAR(stepped.percentile(0.5), 143.0, 1.0);
  // (The tails are wider than the truth's: each reading is up to a step off, which no
  // interpolation undoes; the median's errors cancel.)
  EXPECT_LT(stepped.percentile(0.1), stepped.percentile(0.5));
  EXPECT_LT(stepped.percentile(0.5), stepped.percentile(0.9));
  // Never outside what was recorded.
  EXPECT_EQ(stepped.percentile(0.0), static_cast<double>(stepped.min()));
  EXPECT_EQ(stepped.percentile(1.0), static_cast<double>(stepped.max()));
}

TEST(Histogram, ResolutionSurvivesClearAndMergeKeepsTheCoarser) {
  Histogram a, b;
  a.set_resolution(5);
  b.set_resolution(10);
  a.record(100);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.resolution(), 5.0);
  a.merge(b);
  EXPECT_EQ(a.resolution(), 10.0);
  Histogram one;
  one.set_resolution(0.5);  // finer than a nanosecond: values are exact
  EXPECT_EQ(one.resolution(), 1.0);
  for (uint64_t v = 0; v < 128; ++v) one.record(v);
  EXPECT_EQ(one.percentile(0.5), 63.0);
}

// A clock timing empty loops of 0 to `max_turns` - 1 turns, in ticks: each turn takes
// `per_turn` ticks, each read 30 plus up to `jitter` more; `step` > 1 quantises the readings.
// The first `interrupted` intervals are 20 us longer.
std::vector<TimedDelay> timed_delays(double step, double per_turn, double jitter,
                                     unsigned max_turns, std::mt19937_64& rng,
                                     int interrupted = 0) {
  std::vector<TimedDelay> out;
  for (unsigned i = 0; i < 4096; ++i) {
    const unsigned turns = (i * 7919) % max_turns;
    double ticks = 30 + turns * per_turn + std::uniform_real_distribution<double>(0, jitter)(rng);
    if (static_cast<int>(i) < interrupted) ticks += 20000 + 997 * i;
    out.push_back({turns, step > 1 ? read_with_step(ticks, step, rng)
                                   : static_cast<uint64_t>(std::llround(ticks))});
  }
  return out;
}

TEST(TickClock, StepOfAClockThatMovesInStepsIsFound) {
  std::mt19937_64 rng(3);
  // An AMD EPYC guest's TSC: 24.45 ticks a step, a loop turn about 0.8 of a tick.
  EXPECT_NEAR(clock_step_ticks(timed_delays(24.45, 0.8, 3, 256, rng)), 24.45, 0.25);
  EXPECT_NEAR(clock_step_ticks(timed_delays(24.45, 0.8, 3, 256, rng, 5)), 24.45, 0.25);
  // clock_gettime on it: 10 ns steps, a turn about 0.33 ns.
  EXPECT_NEAR(clock_step_ticks(timed_delays(10, 0.33, 3, 256, rng)), 10, 0.1);
  // HPET (70 ns) is not seen within 256 turns, but is within 2048.
  EXPECT_EQ(clock_step_ticks(timed_delays(70, 0.33, 3, 256, rng)), 1.0);
  EXPECT_NEAR(clock_step_ticks(timed_delays(70, 0.33, 3, 2048, rng)), 70, 0.7);
}

TEST(TickClock, AClockThatCountsEveryTickHasNoStep) {
  std::mt19937_64 rng(5);
  EXPECT_EQ(clock_step_ticks(timed_delays(1, 0.8, 3, 256, rng)), 1.0);
  EXPECT_EQ(clock_step_ticks(timed_delays(1, 0.8, 3, 256, rng, 5)), 1.0);
  // Reads of steady cost and a loop turn of several ticks (a core clocked well below its TSC):
  // the intervals fall into evenly spaced narrow groups, one loop length each; no clock step.
  for (double per_turn : {3.0, 4.0, 5.0, 7.5}) {
    EXPECT_EQ(clock_step_ticks(timed_delays(1, per_turn, 1, 256, rng)), 1.0) << per_turn;
  }
  // Reads that always take the same time (no delays) say nothing about the step.
  EXPECT_EQ(clock_step_ticks(std::vector<TimedDelay>(100, TimedDelay{0, 38})), 1.0);
  EXPECT_EQ(clock_step_ticks({}), 1.0);
  // This machine's clock: at least 1 ns, and far below a microsecond.
  EXPECT_GE(TickClock::best().step_ns(), 1.0);
  EXPECT_LT(TickClock::best().step_ns(), 1000.0);
}

}  // namespace
}  // namespace ipcb
