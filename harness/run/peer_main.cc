// The peer's side of a benchmark (see peer_main in session.h): a strict reading of its command
// line (it may be started by hand, so every value is checked like `run` checks its flags), then
// the serving loop.
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "harness/run/rate.h"
#include "harness/run/session.h"
#include "harness/run/workload.h"

namespace ipcb {
namespace {

// The peer's loop: answer syncs and the stop, echo, sink or produce data, time stamped
// messages. Counts and CPU usage restart at every sync, so only the last phase is reported.
// Busy work of `ns` nanoseconds (--inject-ns): a known cost per message.
void inject(uint64_t ns) {
  if (ns == 0) return;
  const uint64_t until = sys::now_ns() + ns;
  while (sys::now_ns() < until) {
  }
}

Result<PeerReport> serve(Endpoint& ep, PeerRole role, bool batched, VerifyMode mode,
                         uint64_t inject_ns, const PerfCounters& perf) {
  PeerReport r;
  bool measuring = false;
  std::optional<PacedLatency> paced;  // after a kFramePace: the rate workload's timing
  Usage start = Usage::of_thread();
  PerfCounters::Reading perf_start;
  // An echo goes out before its payload is checked (the check is ours, not the mechanism's):
  // at once when there is no busy work to add in between.
  const bool echo_at_once = role == PeerRole::kEcho && inject_ns == 0;
  for (;;) {
    // A stream's sink reads in batches (the rate workload's times each message as it comes); a
    // message it takes on the fast path passed every check of the verify level, with nothing
    // left to check.
    FrameHeader h;
    const Endpoint::Fast fast =
        batched && !echo_at_once ? ep.recv_batched_fast(h) : Endpoint::Fast::kWait;
    if (fast != Endpoint::Fast::kDone) {
      IPCB_TRY(h, echo_at_once ? ep.recv_echo()
                  : batched    ? ep.recv_batched_rest(fast)
                               : ep.recv(role == PeerRole::kEcho));
    }
    if (h.flags & kFrameData) {
      if (inject_ns != 0) inject(inject_ns);
      if (role == PeerRole::kEcho) {
        if (!echo_at_once) IPCB_TRY_STATUS(ep.echo(h));
      } else if (h.send_ns != 0 && measuring) {
        if (paced) {
          paced->record(h.send_ns, sys::now_ns());
        } else {
          r.latency.record(sys::now_ns() - h.send_ns);
        }
      }
      if (fast != Endpoint::Fast::kDone) IPCB_TRY_STATUS(ep.finish_check());
      bool ok = fast == Endpoint::Fast::kDone || ep.last_fault() == FrameFault::kNone;
      if (measuring && ok && mode != VerifyMode::kOff) ++r.verified;
      continue;
    }
    IPCB_TRY_STATUS(ep.finish_check());
    if (h.flags & kFrameBurst) {
      if (role != PeerRole::kSource) return plain_error("peer", "burst sent to a non-source");
      uint64_t count = 0, stride = 0;
      decode_burst(h.send_ns, count, stride);
      for (uint64_t i = 1; i <= count; ++i) {
        bool stamp = stride != 0 && (i - 1) % stride == 0;  // the first, then every stride-th
        inject(inject_ns);
        IPCB_TRY_STATUS(ep.send(kFrameData, stamp ? sys::now_ns() : 0));
      }
    } else if (h.flags & kFramePace) {
      if (role != PeerRole::kSink || h.send_ns == 0 || h.send_ns > kMaxRate) {
        return plain_error("peer",
                           "pace command to a non-sink or with rate " + std::to_string(h.send_ns));
      }
      paced.emplace(h.send_ns);
    } else if (h.flags & kFrameSync) {
      measuring = true;
      r.latency.clear();
      r.verified = 0;
      IPCB_TRY_STATUS(ep.send(kFrameAck));
      ep.reset_byte_counts();
      start = Usage::of_thread();
      perf_start = perf.read();
    } else if (h.flags & kFrameStop) {
      if (paced) {
        r.paced = true;
        r.latency = paced->uncorrected();
        r.intended = paced->corrected();
      }
      r.usage = Usage::of_thread() - start;
      r.perf = perf_delta(perf_start, perf.read());
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

// The options the runner passes (see Session::spawn_peer), each given once.
struct PeerArgs {
  std::string workload, backend, sync, object;
  PeerRole role = PeerRole::kEcho;
  size_t size = 0;
  VerifyMode verify = VerifyMode::kFull;
  CopyMode mode = CopyMode::kCopy;
  uint64_t sleep_ns = 0, spin_ns = 0, inject_ns = 0;
  int cpu = -1;
  pid_t parent = 0;
  bool perf = false;  // --perf on: count perf events (optional; a peer started by hand: off)
};

Result<uint64_t> peer_number(const std::string& key, const std::string& text, uint64_t max) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE || v > max) {
    return plain_error("peer " + key + " '" + text + "'",
                       "expected a number from 0 to " + std::to_string(max));
  }
  return static_cast<uint64_t>(v);
}

Result<PeerArgs> parse_peer_args(const std::vector<std::string>& args) {
  static const char* kKeys[] = {"--workload", "--role",   "--backend",  "--sync",    "--size",
                                "--verify",   "--mode",   "--sleep-ns", "--spin-ns", "--object",
                                "--cpu",      "--parent", "--inject-ns"};
  static const char* kOptional[] = {"--perf"};
  if (args.size() % 2 != 0) return plain_error("peer", "options come in pairs: --KEY VALUE");
  std::map<std::string, std::string> opt;
  for (size_t i = 0; i < args.size(); i += 2) {
    if (std::find(std::begin(kKeys), std::end(kKeys), args[i]) == std::end(kKeys) &&
        std::find(std::begin(kOptional), std::end(kOptional), args[i]) == std::end(kOptional)) {
      return plain_error("peer", "unknown option '" + args[i] + "'");
    }
    if (!opt.emplace(args[i], args[i + 1]).second) {
      return plain_error("peer", "option " + args[i] + " given twice");
    }
  }
  for (const char* k : kKeys) {
    if (!opt.count(k)) return plain_error("peer", std::string("missing option ") + k);
  }
  PeerArgs a;
  a.workload = opt["--workload"];
  if (!find_workload(a.workload))
    return plain_error("peer", "unknown workload '" + a.workload + "'");
  IPCB_TRY(a.role, parse_role(opt["--role"]));
  a.backend = opt["--backend"];
  const BackendInfo* b = find_backend(a.backend);
  if (b == nullptr) return plain_error("peer", "unknown backend '" + a.backend + "'");
  a.sync = opt["--sync"];
  if (!sync_valid_for(*b, a.sync)) {
    return plain_error("peer", "sync '" + a.sync + "' does not fit backend '" + a.backend + "'");
  }
  IPCB_TRY(uint64_t size, peer_number("--size", opt["--size"], kMaxPayload));
  if (size == 0) return plain_error("peer --size 0", "at least 1 byte");
  a.size = static_cast<size_t>(size);
  IPCB_TRY(a.verify, parse_verify(opt["--verify"]));
  IPCB_TRY(a.mode, parse_copy_mode(opt["--mode"]));
  constexpr uint64_t kMaxWaitNs = 10'000'000'000ULL;
  IPCB_TRY(a.sleep_ns, peer_number("--sleep-ns", opt["--sleep-ns"], kMaxWaitNs));
  IPCB_TRY(a.spin_ns, peer_number("--spin-ns", opt["--spin-ns"], kMaxWaitNs));
  IPCB_TRY(a.inject_ns, peer_number("--inject-ns", opt["--inject-ns"], kMaxInjectNs));
  a.object = opt["--object"];
  if (a.object.empty() || a.object.size() > 4096) {
    return plain_error("peer --object", "expected the object's name, key or descriptors");
  }
  if (opt["--cpu"] != "-1") {
    IPCB_TRY(uint64_t cpu, peer_number("--cpu", opt["--cpu"], CPU_SETSIZE - 1));
    a.cpu = static_cast<int>(cpu);
  }
  IPCB_TRY(uint64_t parent, peer_number("--parent", opt["--parent"], INT32_MAX));
  if (parent == 0) return plain_error("peer --parent 0", "expected the runner's pid");
  a.parent = static_cast<pid_t>(parent);
  if (opt.count("--perf")) {
    if (opt["--perf"] != "on" && opt["--perf"] != "off") {
      return plain_error("peer --perf '" + opt["--perf"] + "'", "expected on or off");
    }
    a.perf = opt["--perf"] == "on";
  }
  return a;
}

}  // namespace

int peer_main(const std::vector<std::string>& args) {
  auto fail = [](const Error& e, int code) {
    std::fprintf(stderr, "%s\n", e.message().c_str());
    return code;
  };
  auto a = parse_peer_args(args);
  if (!a) return fail(a.error(), 2);
  if (auto st = become_peer(a->parent, a->cpu); !st) return fail(st.error(), 3);
  const BackendInfo* b = find_backend(a->backend);
  std::atomic<bool> abort{false};  // the peer dies with its parent (PR_SET_PDEATHSIG)
  ChannelConfig cfg{sizeof(FrameHeader) + a->size,   a->sync, &abort, a->sleep_ns, a->spin_ns,
                    find_workload(a->workload)->deep};
  auto ch = b->open(cfg, a->object);
  if (!ch) return fail(ch.error(), 3);
  if (a->mode == CopyMode::kInplace && !(*ch)->supports_inplace()) {
    return fail(plain_error("peer", "this channel has no in-place mode"), 3);
  }
  Endpoint ep(**ch, a->size, a->verify, a->mode);
  // Opened before serving, on the thread that serves: its counts are the peer's cost.
  PerfCounters perf = a->perf ? PerfCounters::open_for_thread() : PerfCounters();
  auto r = serve(ep, a->role, a->workload == "stream" && a->role == PeerRole::kSink, a->verify,
                 a->inject_ns, perf);
  if (!r) return fail(r.error(), 3);
  nlohmann::json j = {{"verified", r->verified},
                      {"errors", r->errors},
                      {"first_error", r->first_error},
                      {"latency", r->latency.serialize()},
                      {"cpu_ns", r->usage.cpu_ns},
                      {"voluntary_switches", r->usage.voluntary_switches},
                      {"involuntary_switches", r->usage.involuntary_switches},
                      {"bytes_written", r->bytes_written},
                      {"bytes_read", r->bytes_read},
                      {"perf", perf_counts_to_json(r->perf)}};
  if (r->paced) j["intended"] = r->intended.serialize();
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace ipcb
