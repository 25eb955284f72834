// How steady a stream's pace was (see pace_windows.h).
#include "harness/run/pace_windows.h"

#include <algorithm>

namespace ipcb {

void PaceWindows::start(uint64_t now_ns, uint64_t count) {
  windows_.clear();
  window_ns_ = kWindowNs;
  window_start_ns_ = now_ns;
  window_start_count_ = count;
}

void PaceWindows::close(uint64_t now_ns, uint64_t count) {
  if (windows_.size() == kMaxWindows) {
    for (size_t i = 0; i < kMaxWindows / 2; ++i) {
      windows_[i] = {windows_[2 * i].ns + windows_[2 * i + 1].ns,
                     windows_[2 * i].count + windows_[2 * i + 1].count};
    }
    windows_.resize(kMaxWindows / 2);
    window_ns_ *= 2;
  }
  windows_.push_back({now_ns - window_start_ns_, count - window_start_count_});
  window_start_ns_ = now_ns;
  window_start_count_ = count;
}

double PaceWindows::slow_share() const {
  if (windows_.size() < kMinWindows) return -1;
  std::vector<double> pace;
  pace.reserve(windows_.size());
  uint64_t total_ns = 0;
  for (const Window& w : windows_) {
    pace.push_back(static_cast<double>(w.count) / static_cast<double>(w.ns));
    total_ns += w.ns;
  }
  std::vector<double> sorted = pace;
  auto mid = sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2);
  std::nth_element(sorted.begin(), mid, sorted.end());
  const double slow_below = *mid * kSlowPace;
  uint64_t slow_ns = 0;
  for (size_t i = 0; i < windows_.size(); ++i) {
    if (pace[i] < slow_below) slow_ns += windows_[i].ns;
  }
  return static_cast<double>(slow_ns) / static_cast<double>(total_ns);
}

}  // namespace ipcb
