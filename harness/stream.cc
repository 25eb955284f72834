// stream: the measured side sends back to back; the peer receives, verifies and times stamped
// messages (one-way latency from the send stamp, queueing included). Throughput counts from the
// first send until the peer acknowledged the stop, so every message was really delivered.
#include "harness/environment.h"
#include "harness/workload.h"

namespace ipcb {
namespace {
// The sender reads the clock for one message in `stride` so the clock read costs <= 5% of the
// per-message time seen in warm-up.
uint64_t stamp_stride(uint64_t per_msg_ns, uint64_t timer_ns) {
  if (per_msg_ns == 0) return 64;
  uint64_t s = (20 * timer_ns + per_msg_ns - 1) / per_msg_ns;
  return s < 1 ? 1 : s;
}
}  // namespace

Result<Measurement> measure_stream(Session& s, Loop& loop) {
  Measurement m;
  IPCB_TRY(uint64_t per_msg, warm_up(s, /*echo=*/false));
  m.sample_every = stamp_stride(per_msg, timer_cost_ns());
  Endpoint& ep = s.endpoint();
  uint64_t start = sys::now_ns();
  uint64_t countdown = 1;
  while (loop.next()) {
    uint64_t stamp = 0;
    if (--countdown == 0) {
      stamp = sys::now_ns();
      countdown = m.sample_every;
    }
    IPCB_TRY_STATUS(ep.send(kFrameData, stamp));
    s.peer().progress();
    ++m.iterations;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  m.elapsed_ns = sys::now_ns() - start;
  loop.add_time(m.elapsed_ns);
  m.messages = m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(finish(s, m, 0));
  return m;
}

}  // namespace ipcb
