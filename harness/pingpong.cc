// pingpong: the measured side sends a message, the peer verifies it and echoes it, the measured
// side verifies the echo. One clock read per round trip; latency is half the round trip.
#include "harness/workload.h"

namespace ipcb {

Result<Measurement> measure_pingpong(Session& s, Loop& loop) {
  Measurement m;
  m.has_rtt = true;
  IPCB_TRY_STATUS(warm_up(s, /*echo=*/true, loop.planned()));
  Endpoint& ep = s.endpoint();
  uint64_t own_ok = 0;
  begin_measuring(s, m);
  uint64_t start = sys::now_ns();
  uint64_t prev = start;
  while (loop.next()) {
    IPCB_TRY_STATUS(ep.send(kFrameData));
    IPCB_TRY_STATUS(ep.recv());
    uint64_t now = sys::now_ns();
    own_ok += ep.last_fault() == FrameFault::kNone;
    m.rtt.record(now - prev);
    m.latency.record((now - prev) / 2);
    loop.add_time(now - prev);
    prev = now;
    s.progress();
    ++m.iterations;
  }
  m.elapsed_ns = prev - start;
  m.messages = 2 * m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  IPCB_TRY_STATUS(finish(s, m, own_ok));
  return m;
}

}  // namespace ipcb
