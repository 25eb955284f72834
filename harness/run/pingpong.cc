// pingpong: the measured side sends a message, the peer echoes it and then verifies what it
// received, the measured side verifies the echo. The round trip is timed from just before the
// send to just after the echo was received and read (copied out, or in place read by the
// check: the receiver's pass over the data is part of receiving it). One clock read ends a
// round trip and starts the next; the bookkeeping (histograms, progress beat) of a round trip
// happens after the next message is sent, while it is in flight, so none of it lies between
// "the echo arrived" and "the next message is sent". Latency is half the round trip. The clock
// is TickClock::best() (the TSC where that is safe): its read is inside every round trip.
#include "harness/run/tick_clock.h"
#include "harness/run/workload.h"

namespace ipcb {

Result<Measurement> measure_pingpong(Session& s, Loop& loop) {
  Measurement m;
  m.has_rtt = true;
  IPCB_TRY_STATUS(warm_up(s, /*echo=*/true, loop.planned()));
  Endpoint& ep = s.endpoint();
  uint64_t own_ok = 0;
  uint64_t timed_ns = 0;
  uint64_t last_rtt = 0;  // in ticks; recorded in the next round trip, once its message is sent
  const TickClock& clock = TickClock::best();
  auto record = [&](uint64_t ticks) {
    const uint64_t rtt = clock.to_ns(ticks);
    m.rtt.record(rtt);
    m.latency.record(rtt / 2);
    timed_ns += rtt;
    s.progress();
  };
  begin_measuring(s, m);
  // The clock moves in steps (10 ns on an AMD EPYC guest): the percentiles interpolate through
  // them; half a round trip moves in half steps.
  m.rtt.set_resolution(clock.step_ns());
  m.latency.set_resolution(clock.step_ns() / 2);
  const uint64_t start = sys::now_ns();
  uint64_t t0 = clock.now();
  for (bool more = loop.next(); more;) {
    IPCB_TRY_STATUS(ep.send(kFrameData));
    if (m.iterations != 0) record(last_rtt);
    more = loop.next();  // asked while the message is in flight, as the bookkeeping is
    if (auto f = ep.recv_fast(); f != Endpoint::Fast::kDone) IPCB_TRY_STATUS(ep.recv_rest(f));
    const uint64_t t1 = clock.now();
    last_rtt = t1 - t0;
    t0 = t1;
    own_ok += ep.last_fault() == FrameFault::kNone;
    ++m.iterations;
  }
  if (m.iterations != 0) record(last_rtt);
  m.elapsed_ns = sys::now_ns() - start;
  loop.add_time(timed_ns);
  m.messages = 2 * m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  IPCB_TRY_STATUS(finish(s, m, own_ok));
  return m;
}

}  // namespace ipcb
