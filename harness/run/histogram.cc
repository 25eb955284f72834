// Log-linear histogram (see histogram.h).
#include "harness/run/histogram.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <sstream>
#include <vector>

namespace ipcb {

int Histogram::bucket_of(uint64_t v) {
  if (v < kSub) return static_cast<int>(v);
  int msb = 63 - std::countl_zero(v);  // >= kSubBits
  int shift = msb - kSubBits;          // bits dropped below the sub-bucket
  uint64_t sub = (v >> shift) - kSub;  // 0..kSub-1
  return static_cast<int>((static_cast<uint64_t>(shift + 1) << kSubBits) + sub);
}

uint64_t Histogram::bucket_low(int b) {
  uint64_t ub = static_cast<uint64_t>(b);
  if (ub < kSub) return ub;
  uint64_t shift = (ub >> kSubBits) - 1;
  uint64_t sub = ub & (kSub - 1);
  return (kSub + sub) << shift;
}

uint64_t Histogram::bucket_high(int b) {
  uint64_t ub = static_cast<uint64_t>(b);
  if (ub < kSub) return ub;
  uint64_t shift = (ub >> kSubBits) - 1;
  return bucket_low(b) + ((1ULL << shift) - 1);
}

void Histogram::record(uint64_t v) {
  ++counts_[static_cast<size_t>(bucket_of(v))];
  ++count_;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
  sum_ += v;
}

void Histogram::merge(const Histogram& o) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
  sum_ += o.sum_;
  resolution_ = std::max(resolution_, o.resolution_);
}

double Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  if (resolution_ > 1) return interpolated(q);
  // The rank of the wanted sample (1-based), as a sorted array's nearest-rank percentile.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) {
      uint64_t mid = bucket_low(b) + (bucket_high(b) - bucket_low(b)) / 2;
      return static_cast<double>(std::clamp(mid, min(), max_));
    }
  }
  return static_cast<double>(max_);
}

double Histogram::interpolated(double q) const {
  // Each non-empty bucket as an even spread of its count over [from, from + width).
  struct Spread {
    double from, width, count;
  };
  std::vector<Spread> spreads;
  for (int b = 0; b < kBuckets; ++b) {
    const uint64_t n = counts_[static_cast<size_t>(b)];
    if (n == 0) continue;
    const double low = static_cast<double>(bucket_low(b));
    const double width = static_cast<double>(bucket_high(b) - bucket_low(b) + 1);
    const double centre = low + (width - 1) / 2;
    const double w = std::max(width, resolution_);
    spreads.push_back({centre - w / 2, w, static_cast<double>(n)});
  }
  // How many samples lie below x: continuous and non-decreasing, so bisection finds where it
  // reaches q * count.
  auto below = [&](double x) {
    double sum = 0;
    for (const Spread& s : spreads) sum += s.count * std::clamp((x - s.from) / s.width, 0.0, 1.0);
    return sum;
  };
  const double want = q * static_cast<double>(count_);
  double lo = spreads.front().from;
  double hi = spreads.back().from + spreads.back().width;
  for (int i = 0; i < 64 && hi - lo > 1e-3; ++i) {
    const double mid = lo + (hi - lo) / 2;
    (below(mid) < want ? lo : hi) = mid;
  }
  return std::clamp(lo + (hi - lo) / 2, static_cast<double>(min()), static_cast<double>(max_));
}

std::string Histogram::serialize() const {
  std::ostringstream out;
  out << count_ << ' ' << min() << ' ' << max_ << ' ' << sum_;
  for (int b = 0; b < kBuckets; ++b) {
    if (counts_[static_cast<size_t>(b)] != 0)
      out << ' ' << b << ':' << counts_[static_cast<size_t>(b)];
  }
  return out.str();
}

Result<Histogram> Histogram::parse(const std::string& text) {
  Histogram h;
  std::istringstream in(text);
  uint64_t mn = 0;
  if (!(in >> h.count_ >> mn >> h.max_ >> h.sum_))
    return plain_error("histogram", "malformed header");
  h.min_ = h.count_ ? mn : UINT64_MAX;
  uint64_t total = 0;
  std::string item;
  while (in >> item) {
    auto colon = item.find(':');
    if (colon == std::string::npos) return plain_error("histogram", "malformed bucket " + item);
    int b = -1;
    uint64_t n = 0;
    auto r1 = std::from_chars(item.data(), item.data() + colon, b);
    auto r2 = std::from_chars(item.data() + colon + 1, item.data() + item.size(), n);
    if (r1.ec != std::errc() || r2.ec != std::errc() || b < 0 || b >= kBuckets) {
      return plain_error("histogram", "malformed bucket " + item);
    }
    h.counts_[static_cast<size_t>(b)] = n;
    total += n;
  }
  if (total != h.count_) return plain_error("histogram", "bucket counts do not add up");
  return h;
}

}  // namespace ipcb
