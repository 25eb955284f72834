// pingpong: the measured side sends a message, the peer echoes it and then verifies what it
// received, the measured side verifies the echo. The round trip is timed from just before the
// send to just after the echo was received and read (copied out, or in place read by the
// check: the receiver's pass over the data is part of receiving it); the histogram and the
// progress beat fall outside it. Latency is half the round trip.
#include "harness/workload.h"

namespace ipcb {

Result<Measurement> measure_pingpong(Session& s, Loop& loop) {
  Measurement m;
  m.has_rtt = true;
  IPCB_TRY_STATUS(warm_up(s, /*echo=*/true, loop.planned()));
  Endpoint& ep = s.endpoint();
  uint64_t own_ok = 0;
  begin_measuring(s, m);
  const uint64_t start = sys::now_ns();
  while (loop.next()) {
    const uint64_t t0 = sys::now_ns();
    IPCB_TRY_STATUS(ep.send(kFrameData));
    IPCB_TRY_STATUS(ep.recv());
    const uint64_t rtt = sys::now_ns() - t0;
    own_ok += ep.last_fault() == FrameFault::kNone;
    m.rtt.record(rtt);
    m.latency.record(rtt / 2);
    loop.add_time(rtt);
    s.progress();
    ++m.iterations;
  }
  m.elapsed_ns = sys::now_ns() - start;
  m.messages = 2 * m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  IPCB_TRY_STATUS(finish(s, m, own_ok));
  return m;
}

}  // namespace ipcb
