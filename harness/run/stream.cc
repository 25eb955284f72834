// stream and fanout: the measured side sends back to back to every peer (one peer for stream,
// N for fanout: each message is written once into shared memory for all of them, or N times
// into kernel channels); each peer receives, verifies and times
// stamped messages (one-way latency from the send stamp, queueing included). Throughput counts
// from the first send until every peer acknowledged the stop, so every message was delivered.
#include "harness/run/pace_windows.h"
#include "harness/run/workload.h"

namespace ipcb {

Result<Measurement> measure_stream(Session& s, Loop& loop) {
  Measurement m;
  IPCB_TRY(uint64_t per_msg, warm_up(s, /*echo=*/false, loop.planned()));
  // One message in `every` is stamped. The warm-up's pace is a first guess (its short bursts
  // end with a handshake, so it runs slow); each stamp corrects it from the mean pace since the
  // start (not the last interval's: stamps would then come at a steady rate in time and favour
  // the messages sent while the ring was full).
  uint64_t every = stamp_stride(per_msg), stamps = 0;
  PaceWindows pace;  // from the stamps' clock reads: no clock read of its own
  begin_measuring(s, m);
  uint64_t start = sys::now_ns();
  pace.start(start, 0);
  uint64_t countdown = 1;
  while (loop.next()) {
    uint64_t stamp = 0;
    if (--countdown == 0) {
      stamp = sys::now_ns();
      pace.at(stamp, m.iterations);
      if (m.iterations != 0) every = stamp_stride((stamp - start) / m.iterations);
      countdown = every;
      ++stamps;
    }
    IPCB_TRY_STATUS(s.send_all(kFrameData, stamp));
    s.progress();
    ++m.iterations;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  m.elapsed_ns = sys::now_ns() - start;
  loop.add_time(m.elapsed_ns);
  m.sample_every = std::max<uint64_t>(1, m.iterations / std::max<uint64_t>(1, stamps));
  m.slow_share = pace.slow_share();
  if (const double steady = pace.steady_pace(); steady > 0) {
    m.steady_bytes_per_second =
        steady * static_cast<double>(s.links()) * static_cast<double>(s.spec().payload_bytes);
  }
  m.messages = m.iterations * s.links();
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(finish(s, m, 0));
  return m;
}

}  // namespace ipcb
