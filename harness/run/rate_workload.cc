// rate: the measured side sends on a fixed schedule (spec.rate messages per second), whether or
// not earlier messages were delivered; the peer receives, verifies and times every message,
// from its intended send time (coordinated omission corrected) and from its actual send. A send
// that waits for room (a full channel) holds the next messages back: they go out late, back to
// back, and their corrected latency counts the wait. Only the channel interface is used, so
// every backend and waiter runs it. Throughput counts from the schedule's start until the peer
// acknowledged the stop, so every message was delivered.
#include "harness/run/rate.h"
#include "harness/run/workload.h"

namespace ipcb {

Result<Measurement> measure_rate(Session& s, Loop& loop) {
  Measurement m;
  const uint64_t rate = s.spec().rate;
  if (rate == 0) return plain_error("rate", "no offered rate (a sweep is expanded before the run)");
  IPCB_TRY_STATUS(warm_up(s, /*echo=*/false, loop.planned()));
  Endpoint& ep = s.endpoint();
  // The schedule's rate; its start is the first data message's stamp (see PacedLatency).
  IPCB_TRY_STATUS(ep.send(kFramePace, rate));
  const Placement& pl = s.spec().placement;
  Pacer pacer(/*yield=*/pl.cpu_self < 0 || pl.cpu_self == pl.cpu_peer);
  PaceStats stats;
  m.paced = true;
  m.offered_rate = rate;
  m.sample_every = 1;
  const uint64_t total = loop.planned();
  begin_measuring(s, m);
  const uint64_t t0 = sys::now_ns();
  const PaceSchedule schedule(t0, rate);
  uint64_t k = 0;
  uint64_t now = t0;  // the last clock read: when the previous send returned
  while (loop.next()) {
    const uint64_t sent = k == 0 ? t0 : pacer.wait_until(schedule.due(k), now);
    IPCB_TRY_STATUS(ep.send(kFrameData, sent));
    now = sys::now_ns();
    stats.on_send(schedule, k, total, sent, now);
    s.progress();
    ++k;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  m.elapsed_ns = sys::now_ns() - t0;
  loop.add_time(m.elapsed_ns);
  m.iterations = k;
  m.messages = k;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  m.backpressured = stats.backpressured;
  m.send_lag = stats.lag;
  m.pace_poll_ns = pacer.polled_ns();
  IPCB_TRY_STATUS(finish(s, m, 0));
  if (!m.has_uncorrected) return plain_error("rate", "the peer did not time the paced messages");
  return m;
}

}  // namespace ipcb
