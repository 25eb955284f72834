// The open-loop rate workload's arithmetic, kept apart from any channel so it can be tested on
// hand-computed examples: the send schedule, the coordinated-omission correction (latency from
// the intended send time, as wrk2 and HdrHistogram define it), the sender's back-pressure count,
// and the pacer that waits for each message's due time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/run/histogram.h"
#include "harness/sys/error.h"

namespace ipcb {

// Offered rates are messages per second, with decimal suffixes: 500, 10k, 2.5M, 1G.
inline constexpr uint64_t kMaxRate = 1'000'000'000;
// "10k", "2.5M", "1000": a whole number of messages per second from 1 to kMaxRate.
Result<uint64_t> parse_rate(const std::string& text);
// 100000 -> "100k", 2500000 -> "2.5M", 999 -> "999".
std::string rate_label(uint64_t rate);

// Message k of a schedule of `rate` messages per second that starts at t0 is due at
// t0 + floor(k * 1e9 / rate) ns. Integer arithmetic on both sides of the channel, so sender
// and receiver agree on every due time and a long run does not drift.
class PaceSchedule {
 public:
  PaceSchedule(uint64_t t0_ns, uint64_t rate) : t0_(t0_ns), rate_(rate == 0 ? 1 : rate) {}
  uint64_t t0() const { return t0_; }
  uint64_t rate() const { return rate_; }
  uint64_t due(uint64_t k) const {
    return t0_ + static_cast<uint64_t>(static_cast<unsigned __int128>(k) * 1'000'000'000u / rate_);
  }
  // How many messages are due at or before `t_ns` (0 before t0).
  uint64_t due_by(uint64_t t_ns) const;

 private:
  uint64_t t0_;
  uint64_t rate_;
};

// The receiver's side of a paced run. The sender stamps every message with the clock read
// just before its send; it stamps message 0 with the read that starts its schedule, so the
// first message fixes t0 and message k was due at schedule.due(k). Per message: latency from
// the intended send time (corrected: a stall that holds the sender back is counted for every
// message it delays) and from the actual send (uncorrected: what a closed-loop tool reports).
class PacedLatency {
 public:
  explicit PacedLatency(uint64_t rate) : rate_(rate) {}
  // A data message stamped `send_ns`, received at `now_ns`; messages arrive in order.
  void record(uint64_t send_ns, uint64_t now_ns);
  const Histogram& corrected() const { return corrected_; }
  const Histogram& uncorrected() const { return uncorrected_; }
  uint64_t messages() const { return k_; }

 private:
  uint64_t rate_;
  uint64_t k_ = 0;
  PaceSchedule schedule_{0, 1};
  Histogram corrected_, uncorrected_;
};

// The sender's side: what it cost to keep the schedule.
struct PaceStats {
  // Messages that came due while the sender was inside a send call (the channel was full and
  // the call waited for room, or one send takes longer than the period): the back-pressure
  // of the channel. A message that came due while the sender slept too long in its own pacing
  // wait is late (see lag) but not back-pressure.
  uint64_t backpressured = 0;
  Histogram lag;  // actual send - due time, per message: how far behind schedule it went out
  // Message `k` (of `total`) due at `due`, sent at `sent_ns`; its send call returned at
  // `returned_ns`.
  void on_send(const PaceSchedule& s, uint64_t k, uint64_t total, uint64_t sent_ns,
               uint64_t returned_ns);
};

// Waits for due times on CLOCK_MONOTONIC: sleeps (clock_nanosleep, timer slack 1 ns while it
// lives) until a margin before the due time, then polls the clock; the margin follows the
// sleeps' observed overshoot (twice its running mean, 5 µs to 500 µs), so the due time is met
// within a clock read without polling a whole period. With `yield` (the peer may share this
// CPU) the poll yields the CPU between reads.
class Pacer {
 public:
  explicit Pacer(bool yield);
  ~Pacer();
  Pacer(const Pacer&) = delete;
  Pacer& operator=(const Pacer&) = delete;
  // Returns the clock read that ended the wait: `now_ns` when `due_ns` has passed, else the
  // first read at or after it (later when a sleep overshot the due time).
  uint64_t wait_until(uint64_t due_ns, uint64_t now_ns);
  // Wall time spent polling the clock for due times (CPU time when spinning).
  uint64_t polled_ns() const { return polled_ns_; }
  uint64_t margin_ns() const;

 private:
  bool yield_;
  long old_slack_ = -1;
  uint64_t overshoot_ns_ = 25'000;  // running mean of the sleeps' overshoot
  uint64_t polled_ns_ = 0;
};

// A sweep's offered rates: the 1-2-5 ladder (..., 10k, 20k, 50k, 100k, ...) from 10k (lower
// when a twentieth of the capacity is below it) up to and including the first rate at or above
// twice `capacity` (messages per second a closed-loop stream achieved): an open loop can carry
// more than the closed-loop probe (a kernel queue batches what a blocked receiver finds), so
// the last points go past the probe's figure and saturate.
std::vector<uint64_t> sweep_rates(double capacity);

}  // namespace ipcb
