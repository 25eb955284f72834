// A log-linear latency histogram: exact below 128 ns, then 128 sub-buckets per power of two, so
// any recorded value is reported within 1/256 (0.4%) of itself. Fixed size (no allocation while
// recording), mergeable by adding counts, and serialisable so the peer can send its own.
//
// A clock that advances in steps (the TSC of an AMD EPYC guest moves 10 ns at a time) makes every
// interval a multiple of its step: a 143 ns round trip reads 140 or 150, and a nearest-rank p50
// lands on one of the two, up to half a step from the truth. With the step set
// (set_resolution), each recorded value stands for the step's width around it and percentiles
// interpolate through those widths (the percentile of grouped data): the median is then not
// pulled to one of two steps (the tails stay as wide as the readings' own error makes them).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "harness/sys/error.h"

namespace ipcb {

class Histogram {
 public:
  static constexpr int kSubBits = 7;  // 128 sub-buckets per power of two
  static constexpr uint64_t kSub = 1ULL << kSubBits;
  static constexpr int kBuckets = static_cast<int>((64 - kSubBits + 1) * kSub);

  void record(uint64_t value_ns);
  void merge(const Histogram& other);
  // Forgets the values (the resolution stays).
  void clear() {
    const double r = resolution_;
    *this = Histogram();
    resolution_ = r;
  }
  // The step of the clock the values were measured with, in ns (1: values are exact). A merge
  // keeps the coarser of the two. Not serialised: the receiver of a histogram sets its own.
  void set_resolution(double ns) { resolution_ = std::isfinite(ns) && ns > 1 ? ns : 1; }
  double resolution() const { return resolution_; }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  uint64_t sum() const { return sum_; }
  uint64_t bucket_count(int b) const { return counts_[static_cast<size_t>(b)]; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The value at quantile q in [0, 1], clamped to [min, max]. With a resolution of 1, the
  // midpoint of the bucket that holds the nearest-rank sample; above 1, interpolated: each
  // bucket's count spread evenly over its width or the resolution, whichever is wider.
  double percentile(double q) const;

  // "count min max sum i:n i:n ..." with only non-empty buckets.
  std::string serialize() const;
  static Result<Histogram> parse(const std::string& text);

  static int bucket_of(uint64_t v);
  static uint64_t bucket_low(int b);
  static uint64_t bucket_high(int b);  // inclusive

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t sum_ = 0;
  double resolution_ = 1;

  double interpolated(double q) const;
};

}  // namespace ipcb
