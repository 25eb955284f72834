// Session (owner side) and peer_main (peer side) of one benchmark call (see session.h).
#include "harness/session.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/workload.h"

namespace ipcb {

std::string BenchSpec::name() const {
  return workload + "/" + backend + "/" + sync + "/" + std::to_string(payload_bytes);
}

Result<std::unique_ptr<Session>> Session::start(const BenchSpec& spec) {
  const BackendInfo* b = find_backend(spec.backend);
  if (b == nullptr) return plain_error("backend", "unknown backend '" + spec.backend + "'");
  std::unique_ptr<Session> s(new Session(spec));
  ChannelConfig cfg{sizeof(FrameHeader) + spec.payload_bytes, spec.sync, &s->abort_};
  IPCB_TRY(s->channel_, b->create(cfg));
  std::vector<std::string> args = {"peer",
                                   "--workload",
                                   spec.workload,
                                   "--backend",
                                   spec.backend,
                                   "--sync",
                                   spec.sync,
                                   "--size",
                                   std::to_string(spec.payload_bytes),
                                   "--verify",
                                   verify_name(spec.verify),
                                   "--object",
                                   s->channel_->object(),
                                   "--cpu",
                                   std::to_string(spec.cpu_peer),
                                   "--parent",
                                   std::to_string(::getpid())};
  IPCB_TRY(s->peer_,
           PeerProcess::spawn(args, s->channel_->inherited_fds(), spec.stall_ns, s->abort_));
  s->channel_->peer_spawned();
  s->endpoint_ = std::make_unique<Endpoint>(*s->channel_, spec.payload_bytes, spec.verify);
  return s;
}

Session::~Session() {
  endpoint_.reset();
  peer_.reset();     // kills the peer if it still runs
  channel_.reset();  // removes the object
}

Error Session::with_peer_state(Error e) {
  if (peer_) e.detail += (e.detail.empty() ? "" : "; ") + peer_->what_happened();
  return e;
}

Status Session::handshake(uint32_t flag) {
  IPCB_TRY_STATUS(endpoint_->send(flag));
  IPCB_TRY(FrameHeader h, endpoint_->recv());
  peer_->progress();
  if ((h.flags & kFrameAck) == 0) {
    return plain_error("handshake",
                       "expected an acknowledgement, got flags " + std::to_string(h.flags));
  }
  if (!connected_) {
    connected_ = true;
    IPCB_TRY_STATUS(channel_->peer_connected());
  }
  return ok_status();
}

Result<PeerReport> Session::collect() {
  PeerExit e = peer_->finish();
  peer_.reset();
  if (!e.clean()) return plain_error("peer", e.describe());
  PeerReport r;
  auto j = nlohmann::json::parse(e.out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("latency")) {
    return plain_error("peer", "malformed report: " + e.out.substr(0, 200));
  }
  r.verified = j.value("verified", uint64_t{0});
  r.errors = j.value("errors", uint64_t{0});
  r.first_error = j.value("first_error", std::string());
  IPCB_TRY(r.latency, Histogram::parse(j.value("latency", std::string())));
  r.usage = e.usage;
  return r;
}

namespace {

// The peer's loop: answer syncs and the stop, echo or sink data, time stamped messages.
Result<PeerReport> serve(Endpoint& ep, bool echo, VerifyMode mode) {
  PeerReport r;
  bool measuring = false;
  for (;;) {
    IPCB_TRY(FrameHeader h, ep.recv());
    bool ok = ep.last_fault() == FrameFault::kNone;
    if (h.flags & kFrameData) {
      if (echo) {
        IPCB_TRY_STATUS(ep.echo(h));
      } else if (h.send_ns != 0 && measuring) {
        r.latency.record(sys::now_ns() - h.send_ns);
      }
      if (measuring && ok && mode != VerifyMode::kOff) ++r.verified;
    } else if (h.flags & kFrameSync) {
      measuring = true;  // each sync starts the count afresh: only the last phase is measured
      r.latency.clear();
      r.verified = 0;
      IPCB_TRY_STATUS(ep.send(kFrameAck));
    } else if (h.flags & kFrameStop) {
      IPCB_TRY_STATUS(ep.send(kFrameAck));
      break;
    }
  }
  r.errors = ep.checker().errors();
  r.first_error = ep.checker().first_error();
  return r;
}

}  // namespace

int peer_main(const std::vector<std::string>& args) {
  std::map<std::string, std::string> opt;
  for (size_t i = 0; i + 1 < args.size(); i += 2) opt[args[i]] = args[i + 1];
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "%s\n", e.message().c_str());
    return 3;
  };
  char* end = nullptr;
  pid_t parent = static_cast<pid_t>(std::strtol(opt["--parent"].c_str(), &end, 10));
  int cpu = static_cast<int>(std::strtol(opt["--cpu"].c_str(), &end, 10));
  size_t size = std::strtoull(opt["--size"].c_str(), &end, 10);
  if (auto st = become_peer(parent, cpu); !st) return fail(st.error());
  auto mode = parse_verify(opt["--verify"]);
  if (!mode) return fail(mode.error());
  const BackendInfo* b = find_backend(opt["--backend"]);
  const WorkloadInfo* w = find_workload(opt["--workload"]);
  if (b == nullptr || w == nullptr || size == 0) {
    return fail(plain_error("peer", "bad backend, workload or size on the command line"));
  }
  std::atomic<bool> abort{false};  // the peer dies with its parent (PR_SET_PDEATHSIG)
  ChannelConfig cfg{sizeof(FrameHeader) + size, opt["--sync"], &abort};
  auto ch = b->open(cfg, opt["--object"]);
  if (!ch) return fail(ch.error());
  Endpoint ep(**ch, size, *mode);
  auto r = serve(ep, w->peer_echoes, *mode);
  if (!r) return fail(r.error());
  nlohmann::json j = {{"verified", r->verified},
                      {"errors", r->errors},
                      {"first_error", r->first_error},
                      {"latency", r->latency.serialize()}};
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace ipcb
