// The workload list and the steps every workload shares (see workload.h).
#include "harness/run/workload.h"

#include <algorithm>

#include "harness/run/environment.h"

namespace ipcb {

Result<Measurement> measure_pingpong(Session& s, Loop& loop);
Result<Measurement> measure_stream(Session& s, Loop& loop);
Result<Measurement> measure_fanin(Session& s, Loop& loop);
Result<Measurement> measure_rate(Session& s, Loop& loop);

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> kAll = {
      {"pingpong", "round trip: send, the peer echoes, receive; latency = half the round trip",
       PeerRole::kEcho, false, false, false, measure_pingpong},
      {"stream", "one-way: send back to back; throughput, and latency from send stamps",
       PeerRole::kSink, false, false, true, measure_stream},
      {"fanin", "N producer processes -> the measured consumer, one channel each, read in turn",
       PeerRole::kSource, true, false, true, measure_fanin, /*count_up_front=*/true},
      {"fanout",
       "the measured producer -> N consumer processes: shared memory writes each message once "
       "for all, kernel channels N times",
       PeerRole::kSink, true, true, true, measure_stream},
      {"rate",
       "open loop: send on a fixed schedule (--rate) whether or not earlier messages arrived; "
       "latency from the intended send time (coordinated omission corrected) and the actual one",
       PeerRole::kSink, false, false, true, measure_rate, /*count_up_front=*/true},
  };
  return kAll;
}

const WorkloadInfo* find_workload(const std::string& name) {
  for (const auto& w : workloads()) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

uint64_t stamp_stride(uint64_t per_msg_ns) {
  if (per_msg_ns == 0) return 64;
  uint64_t s = (50 * timer_cost_ns() + per_msg_ns - 1) / per_msg_ns;
  return s < 1 ? 1 : s;
}

namespace {
// Sends to every peer `count` times (at least `min_count`, then until `max_ns` passed or
// `max_count`), receiving each answer with `echo`, then syncs. Returns how many rounds went.
Result<uint64_t> burst(Session& s, bool echo, uint64_t min_count, uint64_t max_count,
                       uint64_t max_ns) {
  uint64_t t0 = sys::now_ns();
  uint64_t n = 0;
  while (n < max_count && (n < min_count || sys::now_ns() - t0 < max_ns)) {
    IPCB_TRY_STATUS(s.send_all(kFrameData, sys::now_ns()));
    if (echo) IPCB_TRY_STATUS(s.endpoint().recv());  // pingpong: one peer
    s.progress();
    ++n;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameSync));
  return n;
}
}  // namespace

Result<uint64_t> warm_up(Session& s, bool echo, uint64_t planned) {
  constexpr uint64_t kMin = 16, kMax = 2000;
  // Google Benchmark first makes short calls to size the real one; those are discarded, so
  // they get a short warm-up (the real call of a slow benchmark still sends >= 2 x kMin).
  const uint64_t kMaxNs = planned >= 1000 ? 10'000'000 : 1'000'000;
  // First burst: the peer starts, pages and caches warm, first wake-ups happen.
  IPCB_TRY(uint64_t n, burst(s, echo, kMin, kMax, kMaxNs));
  // Second, shorter burst with both sides running: its pace is the per-message time.
  uint64_t t0 = sys::now_ns();
  IPCB_TRY(uint64_t m, burst(s, echo, std::max(kMin, n / 4), std::max(kMin, n / 4), kMaxNs));
  return (sys::now_ns() - t0) / (m * s.links());
}

void begin_measuring(Session& s, Measurement& m) {
  for (size_t i = 0; i < s.links(); ++i) s.endpoint(i).reset_byte_counts();
  m.self_usage = Usage::of_thread();
  s.perf_start();
}

Status finish(Session& s, Measurement& m, uint64_t own_verified) {
  m.self_usage = Usage::of_thread() - m.self_usage;
  m.self_perf = s.perf_since_start();
  IPCB_TRY(PeerReport r, s.collect());
  uint64_t own_errors = 0;
  std::string own_first;
  uint64_t sent = 0, received = 0;
  for (size_t i = 0; i < s.links(); ++i) {
    const Endpoint& ep = s.endpoint(i);
    own_errors += ep.checker().errors();
    if (own_first.empty()) own_first = ep.checker().first_error();
    sent += ep.bytes_sent();
    received += ep.bytes_received();
  }
  // The stop handshake is not payload traffic: the kFrameStop writes and one kFrameAck back per
  // peer on our side, and the kFrameStop each peer received on its side.
  const uint64_t msg = sizeof(FrameHeader) + s.spec().payload_bytes;
  m.bytes_written = sent - s.writes_per_message() * msg + r.bytes_written;
  m.bytes_read = received - s.links() * msg + (r.bytes_read - s.links() * msg);
  m.broadcast = s.broadcast();
  const double n = static_cast<double>(s.links());
  // In place the writer copies into the ring and the reader reads there: one copy.
  m.copies_per_msg = s.spec().mode == CopyMode::kInplace ? 1.0 : m.broadcast ? (1.0 + n) / n : 2.0;
  m.errors = own_errors + r.errors;
  m.first_error = !own_first.empty()       ? "measured side: " + own_first
                  : !r.first_error.empty() ? "peer: " + r.first_error
                                           : "";
  const WorkloadInfo* w = find_workload(s.spec().workload);
  if (s.spec().verify == VerifyMode::kOff) {
    m.verified = 0;
  } else if (m.has_rtt) {
    m.verified = std::min(own_verified, r.verified);  // a round trip passes only if both legs do
  } else if (w->peer_role == PeerRole::kSource) {
    m.verified = own_verified;  // we are the receiver
  } else {
    m.verified = r.verified;
  }
  if (!m.has_rtt && w->peer_role != PeerRole::kSource) m.latency = r.latency;
  if (r.paced) {  // the peer timed paced messages from their intended send time too
    m.uncorrected = r.latency;
    m.latency = r.intended;
    m.has_uncorrected = true;
  }
  m.peer_usage = r.usage;
  m.peer_perf = r.perf;
  m.wait_mode = s.wait_mode();
  m.ring_bytes = s.ring_bytes();
  return ok_status();
}

}  // namespace ipcb
