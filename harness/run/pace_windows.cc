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

double PaceWindows::slow_below() const {
  std::vector<double> pace;
  pace.reserve(windows_.size());
  for (const Window& w : windows_) pace.push_back(pace_of(w));
  auto mid = pace.begin() + static_cast<std::ptrdiff_t>(pace.size() / 2);
  std::nth_element(pace.begin(), mid, pace.end());
  return *mid * kSlowPace;
}

double PaceWindows::slow_share() const {
  if (windows_.size() < kMinWindows) return -1;
  const double slow = slow_below();
  uint64_t slow_ns = 0, total_ns = 0;
  for (const Window& w : windows_) {
    total_ns += w.ns;
    if (pace_of(w) < slow) slow_ns += w.ns;
  }
  return static_cast<double>(slow_ns) / static_cast<double>(total_ns);
}

double PaceWindows::steady_pace() const {
  if (windows_.size() < kMinWindows) return -1;
  const double slow = slow_below();
  uint64_t ns = 0, count = 0;
  for (const Window& w : windows_) {
    if (pace_of(w) < slow) continue;
    ns += w.ns;
    count += w.count;
  }
  return ns == 0 ? -1 : static_cast<double>(count) * 1e9 / static_cast<double>(ns);
}

}  // namespace ipcb
