// The workload list and the steps every workload shares (see workload.h).
#include "harness/workload.h"

#include <algorithm>

namespace ipcb {

Result<Measurement> measure_pingpong(Session& s, Loop& loop);
Result<Measurement> measure_stream(Session& s, Loop& loop);

const std::vector<WorkloadInfo>& workloads() {
  static const std::vector<WorkloadInfo> kAll = {
      {"pingpong", "round trip: send, the peer echoes, receive; latency = half the round trip",
       true, measure_pingpong},
      {"stream", "one-way: send back to back; throughput, and latency from send stamps", false,
       measure_stream},
  };
  return kAll;
}

const WorkloadInfo* find_workload(const std::string& name) {
  for (const auto& w : workloads()) {
    if (name == w.name) return &w;
  }
  return nullptr;
}

namespace {
// Sends `count` messages (at most; stops after `max_ns` once `min_count` went), receiving each
// answer with `echo`, then syncs. Returns how many were sent.
Result<uint64_t> burst(Session& s, bool echo, uint64_t min_count, uint64_t max_count,
                       uint64_t max_ns) {
  Endpoint& ep = s.endpoint();
  uint64_t t0 = sys::now_ns();
  uint64_t n = 0;
  while (n < max_count && (n < min_count || sys::now_ns() - t0 < max_ns)) {
    IPCB_TRY_STATUS(ep.send(kFrameData, sys::now_ns()));
    if (echo) IPCB_TRY_STATUS(ep.recv());
    s.peer().progress();
    ++n;
  }
  IPCB_TRY_STATUS(s.handshake(kFrameSync));
  return n;
}
}  // namespace

Result<uint64_t> warm_up(Session& s, bool echo) {
  constexpr uint64_t kMin = 16, kMax = 2000, kMaxNs = 10'000'000;
  // First burst: the peer starts, pages and caches warm, first wake-ups happen.
  IPCB_TRY(uint64_t n, burst(s, echo, kMin, kMax, kMaxNs));
  // Second, shorter burst with both sides running: its pace is the per-message time.
  uint64_t t0 = sys::now_ns();
  IPCB_TRY(uint64_t m, burst(s, echo, std::max(kMin, n / 4), std::max(kMin, n / 4), kMaxNs));
  return (sys::now_ns() - t0) / m;
}

Status finish(Session& s, Measurement& m, uint64_t own_verified) {
  IPCB_TRY(PeerReport r, s.collect());
  const Endpoint& ep = s.endpoint();
  m.errors = ep.checker().errors() + r.errors;
  m.first_error = !ep.checker().first_error().empty()
                      ? "measured side: " + ep.checker().first_error()
                  : !r.first_error.empty() ? "peer: " + r.first_error
                                           : "";
  if (s.spec().verify == VerifyMode::kOff) {
    m.verified = 0;
  } else if (m.has_rtt) {
    m.verified = std::min(own_verified, r.verified);  // a round trip passes only if both legs do
  } else {
    m.verified = r.verified;
  }
  if (!m.has_rtt) m.latency = r.latency;
  m.peer_usage = r.usage;
  return ok_status();
}

}  // namespace ipcb
