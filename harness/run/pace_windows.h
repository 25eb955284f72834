// How steady a stream's pace was over its measured phase, from clock reads its sender makes
// anyway (the latency stamps): a host slow spell in the middle of a run, which neither floor
// measured next to the result sees. On a 2-vCPU AMD EPYC guest the host's slow spells cut a
// 4 KiB stream from about 40 GB/s to 5-8 GB/s for seconds at a time.
// A spell that covers most of a run sets the median pace itself and is not seen here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ipcb {

class PaceWindows {
 public:
  // Windows span at least kWindowNs at first: thousands of them in a 0.2 s run. A window's pace
  // is what the sender got through in it, so a ring's slack (2-8 MiB, up to 0.2 ms at 40 GB/s)
  // evens out over a few windows; a spell lasts thousands of them.
  static constexpr uint64_t kWindowNs = 100'000;
  // A window below this share of the median window's pace ran slow (a spell cuts the pace
  // five-fold or more; the two paces of a 4 KiB stream (about 35 and 52 GB/s in a model of the
  // ring) differ by less than 2x, but a 64 B stream's do not: see check_steady in
  // suites/bench/register.cc).
  static constexpr double kSlowPace = 0.5;
  // Fewer closed windows than this tell a spell from nothing: slow_share() says -1.
  static constexpr size_t kMinWindows = 8;
  // At most this many windows are kept (no allocation while the sender runs): when they are
  // full, neighbours are merged in pairs and later windows span twice as long.
  static constexpr size_t kMaxWindows = 4096;

  PaceWindows() { windows_.reserve(kMaxWindows); }
  // The measured phase starts at `now_ns` with `count` messages sent.
  void start(uint64_t now_ns, uint64_t count);
  // A clock read the sender made (`now_ns`) with `count` messages sent by then: closes the
  // current window once it spans window_ns(). Called once per stamp, not per message.
  void at(uint64_t now_ns, uint64_t count) {
    if (now_ns - window_start_ns_ >= window_ns_) close(now_ns, count);
  }
  // The share of the closed windows' time that ran below kSlowPace of the median window's pace
  // (weighted by time: a stall between two clock reads is one long, slow window), or -1 with
  // fewer than kMinWindows windows.
  double slow_share() const;
  // The pace of the windows that did not run slow, in messages per second: their messages over
  // their time, as a stream ceiling's windows are read (steady_pace in floors.h), so a result and
  // its ceiling leave the host's slow spells out alike. -1 with fewer than kMinWindows windows.
  double steady_pace() const;
  size_t windows() const { return windows_.size(); }
  uint64_t window_ns() const { return window_ns_; }

 private:
  struct Window {
    uint64_t ns;
    uint64_t count;
  };
  void close(uint64_t now_ns, uint64_t count);
  // A window's pace (messages per ns), and the pace below which a window ran slow.
  static double pace_of(const Window& w) {
    return static_cast<double>(w.count) / static_cast<double>(w.ns);
  }
  double slow_below() const;

  std::vector<Window> windows_;
  uint64_t window_ns_ = kWindowNs;
  uint64_t window_start_ns_ = 0;
  uint64_t window_start_count_ = 0;
};

}  // namespace ipcb
