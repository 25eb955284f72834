// pingpong: the measured side sends a message, the peer echoes it and then verifies what it
// received, the measured side receives the echo (reads it: copied out, or read in place) and
// sends the next. A round trip is the time from just after one send to just after the next: the
// send, the echo, receiving it, sending again. The clock is read right after each send, while
// the message is in flight, as is the bookkeeping (histograms, progress beat) and, for payloads
// of up to 256 bytes, the check of the echo (Endpoint::recv_fast_check_later), so none of it lies
// between "the echo arrived" and "the next message is sent": on a 2-vCPU AMD EPYC guest a TSC
// read there (12 ns) added 13% to the one-way time of a standalone ping-pong through two-line
// slots (a 64 B message's layout), and checking the echo there added 5-15 ns to a one-way p50 of
// 65-90 ns (verify full against off, 8 and 64 B). Every echo is still checked before the run
// ends. The last round trip, with no send after it, is timed only when it is the only one; it
// ends once its echo is checked. Latency is half the round trip. The clock is TickClock::best()
// (the TSC where that is safe).
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
  uint64_t t0 = 0;  // just after the last send
  // The last echo's check, when recv_fast_check_later left it for after the next send.
  auto check_echo = [&]() -> Status {
    IPCB_TRY_STATUS(ep.finish_check());
    own_ok += ep.last_fault() == FrameFault::kNone;
    return ok_status();
  };
  for (bool more = loop.next(); more;) {
    IPCB_TRY_STATUS(ep.send(kFrameData));
    const uint64_t t1 = clock.now();
    if (m.iterations != 0) {
      record(t1 - t0);
      IPCB_TRY_STATUS(check_echo());
    }
    t0 = t1;
    more = loop.next();  // asked while the message is in flight, as the bookkeeping is
    if (auto f = ep.recv_fast_check_later(); f != Endpoint::Fast::kDone) {
      IPCB_TRY_STATUS(ep.recv_rest(f));
    }
    ++m.iterations;
  }
  if (m.iterations != 0) IPCB_TRY_STATUS(check_echo());
  // The last round trip has no send after it: it ends when its echo was received and checked, so
  // it lacks a send. Its time counts; it is a sample only when it is the only one.
  if (m.iterations == 1) {
    record(clock.now() - t0);
  } else if (m.iterations != 0) {
    timed_ns += clock.to_ns(clock.now() - t0);
  }
  m.elapsed_ns = sys::now_ns() - start;
  loop.add_time(timed_ns);
  m.messages = 2 * m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  IPCB_TRY_STATUS(finish(s, m, own_ok));
  return m;
}

}  // namespace ipcb
