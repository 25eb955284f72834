// Histogram: percentiles against a sorted reference within 1%, merging and serialisation.
#include "harness/run/histogram.h"

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

}  // namespace
}  // namespace ipcb
