// fanin: N producer processes send to the measured consumer, each over its own channel (shared
// memory: one ring per producer; kernel channels: one channel per producer). The consumer asks
// every producer for its share of the run with one burst command, then reads the channels in
// turn. Throughput counts from the commands until the stop is acknowledged; one-way latency
// comes from the producers' send stamps.
#include "harness/run/workload.h"

namespace ipcb {
namespace {

// Asks producer i for its share of `total` messages read in turn, stamping one in `stride`.
Status request(Session& s, uint64_t total, uint64_t stride) {
  uint64_t n = s.links();
  for (size_t i = 0; i < n; ++i) {
    uint64_t share = (total + n - 1 - i) / n;
    if (share != 0) IPCB_TRY_STATUS(s.endpoint(i).send(kFrameBurst, encode_burst(share, stride)));
  }
  return ok_status();
}

// One warm-up round: `per_link` messages from each producer, then a sync. Returns its time.
Result<uint64_t> warm_round(Session& s, uint64_t per_link) {
  uint64_t t0 = sys::now_ns();
  IPCB_TRY_STATUS(request(s, per_link * s.links(), 0));
  for (uint64_t k = 0; k < per_link * s.links(); ++k) {
    IPCB_TRY_STATUS(s.endpoint(k % s.links()).recv());
    s.progress();
  }
  IPCB_TRY_STATUS(s.handshake(kFrameSync));
  return sys::now_ns() - t0;
}

}  // namespace

Result<Measurement> measure_fanin(Session& s, Loop& loop) {
  Measurement m;
  // Grow the first round until it takes ~10 ms (1 ms in Google Benchmark's short sizing
  // calls, see warm_up), then time a second one.
  const uint64_t warm_ns = loop.planned() >= 1000 ? 10'000'000 : 1'000'000;
  uint64_t per_link = 16;
  for (;;) {
    IPCB_TRY(uint64_t ns, warm_round(s, per_link));
    if (ns >= warm_ns || per_link >= 2000) break;
    per_link *= 4;
  }
  IPCB_TRY(uint64_t ns, warm_round(s, per_link));
  m.sample_every = stamp_stride(ns / (per_link * s.links()));
  uint64_t own_ok = 0;
  begin_measuring(s, m);
  uint64_t start = sys::now_ns();
  IPCB_TRY_STATUS(request(s, loop.planned(), m.sample_every));
  uint64_t k = 0;
  while (loop.next()) {
    Endpoint& ep = s.endpoint(k++ % s.links());
    IPCB_TRY(FrameHeader h, ep.recv());
    if (h.send_ns != 0) m.latency.record(sys::now_ns() - h.send_ns);
    own_ok += ep.last_fault() == FrameFault::kNone && (h.flags & kFrameData) != 0;
    s.progress();
    ++m.iterations;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameStop));
  m.elapsed_ns = sys::now_ns() - start;
  loop.add_time(m.elapsed_ns);
  m.messages = m.iterations;
  m.payload_bytes = m.messages * s.spec().payload_bytes;
  IPCB_TRY_STATUS(finish(s, m, own_ok));
  return m;
}

}  // namespace ipcb
