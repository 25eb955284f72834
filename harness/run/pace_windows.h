// How steady a stream's pace was over its measured phase, from clock reads its sender makes
// anyway (the latency stamps): a host slow spell in the middle of a run, which neither floor
// measured next to the result sees. On a 2-vCPU AMD EPYC guest the host's slow spells cut a
// 4 KiB stream from about 40 GB/s to 5-8 GB/s for seconds at a time; a floors-suite run had
// such a stream read 0.10x its ceiling, settled, between two fast ceilings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ipcb {

class PaceWindows {
 public:
  // Windows span at least kWindowNs: long enough that the ring's slack (8 MiB, about 0.2 ms at
  // 40 GB/s) and the scheduler's ticks do not show as pace, short enough for thousands of them
  // in a 0.2 s run.
  static constexpr uint64_t kWindowNs = 100'000;
  // A window below this share of the median window's pace ran slow (a spell cuts the pace
  // five-fold or more; a ring's two modes of pace differ by less than 2x).
  static constexpr double kSlowPace = 0.5;

  // The measured phase starts at `now_ns` with `count` messages sent.
  void start(uint64_t now_ns, uint64_t count);
  // A clock read the sender made (`now_ns`) with `count` messages sent by then: closes the
  // current window once it spans kWindowNs. Off the per-message path: called once per stamp.
  void at(uint64_t now_ns, uint64_t count) {
    if (now_ns - window_start_ns_ >= kWindowNs) close(now_ns, count);
  }
  // The share of the closed windows' time that ran below kSlowPace of the median window's pace
  // (0 with fewer than kMinWindows windows: too few to tell a spell from the run).
  double slow_share() const;
  size_t windows() const { return windows_.size(); }
  static constexpr size_t kMinWindows = 8;

 private:
  struct Window {
    uint64_t ns;
    uint64_t count;
  };
  void close(uint64_t now_ns, uint64_t count);

  std::vector<Window> windows_;
  uint64_t window_start_ns_ = 0;
  uint64_t window_start_count_ = 0;
};

}  // namespace ipcb
