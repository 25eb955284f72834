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

Result<uint64_t> warm_up(Session& s, bool echo) {
  constexpr uint64_t kMin = 16, kMax = 2000, kMinNs = 10'000'000;
  Endpoint& ep = s.endpoint();
  uint64_t t0 = sys::now_ns();
  uint64_t n = 0;
  // The per-message time comes from the second half only: the first includes the peer's start.
  uint64_t half_t = t0, half_n = 0;
  while (n < kMax && (n < kMin || sys::now_ns() - t0 < kMinNs)) {
    IPCB_TRY_STATUS(ep.send(kFrameData, sys::now_ns()));
    if (echo) IPCB_TRY_STATUS(ep.recv());
    s.peer().progress();
    ++n;
    if (n == kMin / 2) {
      half_t = sys::now_ns();
      half_n = n;
    }
  }
  uint64_t per_msg = (sys::now_ns() - half_t) / (n - half_n);
  IPCB_TRY_STATUS(s.handshake(kFrameSync));
  return per_msg;
}

Status finish(Session& s, Measurement& m, uint64_t own_verified) {
  IPCB_TRY(PeerReport r, s.collect());
  const Endpoint& ep = s.endpoint();
  m.errors = ep.checker().errors() + r.errors;
  m.first_error = !ep.checker().first_error().empty() ? "measured side: " + ep.checker().first_error()
                  : !r.first_error.empty()            ? "peer: " + r.first_error
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
