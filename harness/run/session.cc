// Session (owner side) and peer_main (peer side) of one benchmark call (see session.h).
#include "harness/run/session.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "harness/run/workload.h"
#include "harness/sys/enum_names.h"
#include "harness/sys/manifest.h"

namespace ipcb {
namespace {

constexpr const char* kRoleNames[] = {"echo", "sink", "source"};  // in PeerRole's order
static_assert(std::size(kRoleNames) == static_cast<size_t>(PeerRole::kSource) + 1);

}  // namespace

Result<PeerRole> parse_role(const std::string& s) {
  if (auto r = enum_named<PeerRole>(s, kRoleNames)) return *r;
  return plain_error("peer", "unknown role '" + s + "'");
}

const char* role_name(PeerRole r) {
  return enum_name(r, kRoleNames);
}

namespace {

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
  if (workload == "rate") {
    n += '/';
    n += sweep ? std::string("sweep") : std::to_string(rate);
  }
  if (name_placement) n += "/" + placement.name;
  if (mode == CopyMode::kInplace) n += "/inplace";
  const WorkloadInfo* w = find_workload(workload);
  if (w != nullptr && w->fans_out) n += "/fan" + std::to_string(fan);
  return n;
}

// The CPU time from the thread's CPU clock, not getrusage: getrusage's times lag for a thread that
// never leaves its CPU (a spinning peer), so a peer that spun through a 2 ms phase (a 64 KiB
// ping-pong of 200 iterations) read 0 ns of CPU in 8 of 19 repetitions.
Usage Usage::of_thread() {
  const rusage ru = sys::thread_usage();
  return Usage{sys::thread_cpu_ns(), static_cast<uint64_t>(ru.ru_nvcsw),
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
                                   "--inject-ns",
                                   std::to_string(spec_.inject_ns),
                                   "--object",
                                   link.channel->object(),
                                   "--cpu",
                                   std::to_string(spec_.placement.cpu_peer),
                                   "--parent",
                                   std::to_string(::getpid()),
                                   "--perf",
                                   spec_.perf ? "on" : "off"};
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
  if (spec.perf) s->self_perf_ = PerfCounters::open_for_thread();
  for (int i = 0; i < spec.fan; ++i) s->links_.push_back(std::make_unique<Link>());
  auto config = [&](const std::atomic<bool>* abort) {
    const WorkloadInfo* w = find_workload(spec.workload);
    return ChannelConfig{sizeof(FrameHeader) + spec.payload_bytes,
                         spec.sync,
                         abort,
                         spec.sleep_ns,
                         spec.spin_ns,
                         w != nullptr && w->deep};
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

Status Session::send_each(uint32_t flags, uint64_t send_ns) {
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

size_t Session::ring_bytes() const {
  return links_.front()->channel->ring_bytes();
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
  // The peer that went first is the cause; the others are stopped because of it.
  size_t first = links_.size();
  uint64_t first_at = UINT64_MAX;
  for (size_t i = 0; i < links_.size(); ++i) {
    uint64_t at = links_[i]->peer ? links_[i]->peer->gone_at_ns() : 0;
    if (at != 0 && at < first_at) first = i, first_at = at;
  }
  std::string stopped;
  auto add = [&](const std::string& what) { e.detail += (e.detail.empty() ? "" : "; ") + what; };
  std::vector<size_t> order;
  if (first < links_.size()) order.push_back(first);
  for (size_t i = 0; i < links_.size(); ++i) {
    if (i != first) order.push_back(i);
  }
  for (size_t i : order) {
    auto& l = links_[i];
    if (!l->peer) continue;
    pid_t pid = l->peer->pid();
    bool ours = false;
    PeerExit x = l->peer->stop_and_finish(&ours);
    std::string who = links_.size() > 1
                          ? "peer " + std::to_string(i) + " (pid " + std::to_string(pid) + ")"
                          : "peer (pid " + std::to_string(pid) + ")";
    if (ours && i != first) {
      stopped += (stopped.empty() ? "" : ", ") + (links_.size() > 1 ? std::to_string(i) : who);
    } else {
      add(x.describe(who));
    }
    l->peer.reset();
  }
  if (!stopped.empty()) {
    add((links_.size() > 1 ? "peers " : "") + stopped + " stopped by the harness");
  }
  return e;
}

Status Session::handshake(uint32_t flag) {
  IPCB_TRY_STATUS(send_all(flag));
  for (auto& l : links_) {
    IPCB_TRY(FrameHeader h, l->endpoint->recv());
    progress();  // every peer's watchdog: acks of a fan of peers come one after another
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
  bool first = true;
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
    if (j.contains("intended")) {
      IPCB_TRY(Histogram intended, Histogram::parse(j.value("intended", std::string())));
      sum.intended.merge(intended);
      sum.paced = true;
    }
    PerfCounts perf;  // a peer that counted nothing leaves every event absent
    if (j.contains("perf")) {
      IPCB_TRY(perf, perf_counts_from_json(j["perf"]));
    }
    if (first) {
      sum.perf = std::move(perf);
    } else {
      perf_add(sum.perf, perf);
    }
    first = false;
  }
  return sum;
}

}  // namespace ipcb
