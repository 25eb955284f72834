// Session (owner side) and peer_main (peer side) of one benchmark call (see session.h).
#include "harness/session.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/manifest.h"

namespace ipcb {

const char* role_name(PeerRole r) {
  switch (r) {
    case PeerRole::kEcho:
      return "echo";
    case PeerRole::kSink:
      return "sink";
    case PeerRole::kSource:
      return "source";
  }
  return "?";
}

namespace {

Result<PeerRole> parse_role(const std::string& s) {
  for (PeerRole r : {PeerRole::kEcho, PeerRole::kSink, PeerRole::kSource}) {
    if (s == role_name(r)) return r;
  }
  return plain_error("peer", "unknown role '" + s + "'");
}

// Kernel strategies wait either in the kernel (block, poll) or by retrying (busy).
std::string kernel_wait_mode(const std::string& sync) {
  return sync == "busy" ? "spin" : "block";
}

constexpr unsigned kBurstCountBits = 40;

}  // namespace

uint64_t encode_burst(uint64_t count, uint64_t stride) {
  return (count & ((1ULL << kBurstCountBits) - 1)) | (stride << kBurstCountBits);
}

void decode_burst(uint64_t word, uint64_t& count, uint64_t& stride) {
  count = word & ((1ULL << kBurstCountBits) - 1);
  stride = word >> kBurstCountBits;
}

std::string BenchSpec::name() const {
  std::string n = workload + "/" + backend + "/" + sync + "/" + std::to_string(payload_bytes);
  if (name_placement) n += "/" + placement.name;
  if (mode == CopyMode::kInplace) n += "/inplace";
  return n;
}

Usage Usage::of_thread() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  auto ns = [](const timeval& t) {
    return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ULL +
           static_cast<uint64_t>(t.tv_usec) * 1000ULL;
  };
  return Usage{ns(ru.ru_utime) + ns(ru.ru_stime), static_cast<uint64_t>(ru.ru_nvcsw),
               static_cast<uint64_t>(ru.ru_nivcsw)};
}

Usage Usage::operator-(const Usage& o) const {
  return Usage{cpu_ns - o.cpu_ns, voluntary_switches - o.voluntary_switches,
               involuntary_switches - o.involuntary_switches};
}

Usage& Usage::operator+=(const Usage& o) {
  cpu_ns += o.cpu_ns;
  voluntary_switches += o.voluntary_switches;
  involuntary_switches += o.involuntary_switches;
  return *this;
}

Status Session::spawn_peer(Link& link, PeerRole role) {
  std::vector<std::string> args = {"peer",
                                   "--workload",
                                   spec_.workload,
                                   "--role",
                                   role_name(role),
                                   "--backend",
                                   spec_.backend,
                                   "--sync",
                                   spec_.sync,
                                   "--size",
                                   std::to_string(spec_.payload_bytes),
                                   "--verify",
                                   verify_name(spec_.verify),
                                   "--mode",
                                   copy_mode_name(spec_.mode),
                                   "--sleep-ns",
                                   std::to_string(spec_.sleep_ns),
                                   "--spin-ns",
                                   std::to_string(spec_.spin_ns),
                                   "--object",
                                   link.channel->object(),
                                   "--cpu",
                                   std::to_string(spec_.placement.cpu_peer),
                                   "--parent",
                                   std::to_string(::getpid())};
  OwnedChannel* ch = link.channel.get();
  IPCB_TRY(link.peer,
           PeerProcess::spawn(args, ch->inherited_fds(), spec_.stall_ns, link.abort, [this, ch] {
             any_abort_.store(true);
             ch->interrupt();
           }));
  ch->peer_spawned();
  link.endpoint = std::make_unique<Endpoint>(*ch, spec_.payload_bytes, spec_.verify, spec_.mode);
  return ok_status();
}

Result<std::unique_ptr<Session>> Session::start(const BenchSpec& spec, PeerRole role,
                                                bool one_write) {
  const BackendInfo* b = find_backend(spec.backend);
  if (b == nullptr) return plain_error("backend", "unknown backend '" + spec.backend + "'");
  if (spec.fan < 1 || spec.fan > manifest::kMaxPeers) {
    return plain_error("fan", "between 1 and " + std::to_string(manifest::kMaxPeers) + " peers");
  }
  std::unique_ptr<Session> s(new Session(spec));
  for (int i = 0; i < spec.fan; ++i) s->links_.push_back(std::make_unique<Link>());
  auto config = [&](const std::atomic<bool>* abort) {
    return ChannelConfig{sizeof(FrameHeader) + spec.payload_bytes, spec.sync, abort, spec.sleep_ns,
                         spec.spin_ns};
  };
  if (one_write && b->create_fanout != nullptr) {
    // One object for every peer: the broadcast waits for all of them, so it watches any_abort_.
    std::vector<const std::atomic<bool>*> aborts;
    for (auto& l : s->links_) aborts.push_back(&l->abort);
    IPCB_TRY(auto views, b->create_fanout(config(&s->any_abort_), aborts));
    for (size_t i = 0; i < views.size(); ++i) s->links_[i]->channel = std::move(views[i]);
    s->broadcast_ = true;
  } else {
    for (auto& l : s->links_) {
      IPCB_TRY(l->channel, b->create(config(&l->abort)));
    }
  }
  for (auto& l : s->links_) {
    if (spec.mode == CopyMode::kInplace && !l->channel->supports_inplace()) {
      return plain_error("mode inplace", "backend '" + spec.backend + "' has no in-place mode");
    }
    IPCB_TRY_STATUS(s->spawn_peer(*l, role));
  }
  return s;
}

Status Session::send_all(uint32_t flags, uint64_t send_ns) {
  if (broadcast_) return links_.front()->endpoint->send(flags, send_ns);
  for (auto& l : links_) IPCB_TRY_STATUS(l->endpoint->send(flags, send_ns));
  return ok_status();
}

Session::~Session() {
  for (auto& l : links_) {
    l->endpoint.reset();
    l->peer.reset();     // kills the peer if it still runs
    l->channel.reset();  // removes the object
  }
}

std::string Session::wait_mode() const {
  std::string m = links_.front()->channel->wait_mode();
  return m.empty() ? kernel_wait_mode(spec_.sync) : m;
}

void Session::progress() {
  for (auto& l : links_) {
    if (l->peer) l->peer->progress();
  }
}

Error Session::with_peer_state(Error e) {
  for (size_t i = 0; i < links_.size(); ++i) {
    auto& l = links_[i];
    if (!l->peer) continue;
    std::string what = l->peer->what_happened();
    if (links_.size() > 1) what = "peer " + std::to_string(i) + ": " + what;
    e.detail += (e.detail.empty() ? "" : "; ") + what;
  }
  return e;
}

Status Session::handshake(uint32_t flag) {
  IPCB_TRY_STATUS(send_all(flag));
  for (auto& l : links_) {
    IPCB_TRY(FrameHeader h, l->endpoint->recv());
    l->peer->progress();
    if ((h.flags & kFrameAck) == 0) {
      return plain_error("handshake",
                         "expected an acknowledgement, got flags " + std::to_string(h.flags));
    }
    if (!l->connected) {
      l->connected = true;
      IPCB_TRY_STATUS(l->channel->peer_connected());
    }
  }
  return ok_status();
}

Result<PeerReport> Session::collect() {
  PeerReport sum;
  for (auto& l : links_) {
    PeerExit e = l->peer->finish();
    l->peer.reset();
    if (!e.clean()) return plain_error("peer", e.describe());
    auto j = nlohmann::json::parse(e.out, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("latency")) {
      return plain_error("peer", "malformed report: " + e.out.substr(0, 200));
    }
    sum.verified += j.value("verified", uint64_t{0});
    sum.errors += j.value("errors", uint64_t{0});
    if (sum.first_error.empty()) sum.first_error = j.value("first_error", std::string());
    IPCB_TRY(Histogram h, Histogram::parse(j.value("latency", std::string())));
    sum.latency.merge(h);
    sum.usage += Usage{j.value("cpu_ns", uint64_t{0}), j.value("voluntary_switches", uint64_t{0}),
                       j.value("involuntary_switches", uint64_t{0})};
    sum.bytes_written += j.value("bytes_written", uint64_t{0});
    sum.bytes_read += j.value("bytes_read", uint64_t{0});
  }
  return sum;
}

namespace {

// The peer's loop: answer syncs and the stop, echo, sink or produce data, time stamped
// messages. Counts and CPU usage restart at every sync, so only the last phase is reported.
Result<PeerReport> serve(Endpoint& ep, PeerRole role, VerifyMode mode) {
  PeerReport r;
  bool measuring = false;
  Usage start = Usage::of_thread();
  for (;;) {
    IPCB_TRY(FrameHeader h, ep.recv());
    bool ok = ep.last_fault() == FrameFault::kNone;
    if (h.flags & kFrameData) {
      if (role == PeerRole::kEcho) {
        IPCB_TRY_STATUS(ep.echo(h));
      } else if (h.send_ns != 0 && measuring) {
        r.latency.record(sys::now_ns() - h.send_ns);
      }
      if (measuring && ok && mode != VerifyMode::kOff) ++r.verified;
    } else if (h.flags & kFrameBurst) {
      if (role != PeerRole::kSource) return plain_error("peer", "burst sent to a non-source");
      uint64_t count = 0, stride = 0;
      decode_burst(h.send_ns, count, stride);
      for (uint64_t i = 1; i <= count; ++i) {
        bool stamp = stride != 0 && (i - 1) % stride == 0;  // the first, then every stride-th
        IPCB_TRY_STATUS(ep.send(kFrameData, stamp ? sys::now_ns() : 0));
      }
    } else if (h.flags & kFrameSync) {
      measuring = true;
      r.latency.clear();
      r.verified = 0;
      IPCB_TRY_STATUS(ep.send(kFrameAck));
      ep.reset_byte_counts();
      start = Usage::of_thread();
    } else if (h.flags & kFrameStop) {
      r.usage = Usage::of_thread() - start;
      r.bytes_written = ep.bytes_sent();
      r.bytes_read = ep.bytes_received();
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
  auto number = [&](const char* key) { return std::strtoull(opt[key].c_str(), nullptr, 10); };
  pid_t parent = static_cast<pid_t>(number("--parent"));
  int cpu = static_cast<int>(std::strtol(opt["--cpu"].c_str(), nullptr, 10));
  size_t size = number("--size");
  if (auto st = become_peer(parent, cpu); !st) return fail(st.error());
  auto verify = parse_verify(opt["--verify"]);
  if (!verify) return fail(verify.error());
  auto mode = parse_copy_mode(opt["--mode"]);
  if (!mode) return fail(mode.error());
  auto role = parse_role(opt["--role"]);
  if (!role) return fail(role.error());
  const BackendInfo* b = find_backend(opt["--backend"]);
  if (b == nullptr || size == 0) {
    return fail(plain_error("peer", "bad backend or size on the command line"));
  }
  std::atomic<bool> abort{false};  // the peer dies with its parent (PR_SET_PDEATHSIG)
  ChannelConfig cfg{sizeof(FrameHeader) + size, opt["--sync"], &abort, number("--sleep-ns"),
                    number("--spin-ns")};
  auto ch = b->open(cfg, opt["--object"]);
  if (!ch) return fail(ch.error());
  if (*mode == CopyMode::kInplace && !(*ch)->supports_inplace()) {
    return fail(plain_error("peer", "this channel has no in-place mode"));
  }
  Endpoint ep(**ch, size, *verify, *mode);
  auto r = serve(ep, *role, *verify);
  if (!r) return fail(r.error());
  nlohmann::json j = {{"verified", r->verified},
                      {"errors", r->errors},
                      {"first_error", r->first_error},
                      {"latency", r->latency.serialize()},
                      {"cpu_ns", r->usage.cpu_ns},
                      {"voluntary_switches", r->usage.voluntary_switches},
                      {"involuntary_switches", r->usage.involuntary_switches},
                      {"bytes_written", r->bytes_written},
                      {"bytes_read", r->bytes_read}};
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace ipcb
