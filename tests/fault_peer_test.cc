// Faults of the peer: killed (SIGKILL) or stopped (SIGSTOP) at start-up, mid-run and inside the
// stop handshake, for every backend with one blocking and one polling sync, with and without
// --repetitions 3; one of three fanin/fanout peers killed; a peer started by hand with garbage.
// A dead or hung peer must be reported within the stall deadline, with exit status 1, naming
// the cause, and the harness must neither crash nor leave an object behind.
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

#include "tests/fault_proc.h"
#include "tests/fault_util.h"
#include "tests/process_util.h"

namespace ipcb::test::fault {
namespace {

struct Combo {
  const char* backend;
  const char* sync;
};

void PrintTo(const Combo& c, std::ostream* os) {
  *os << c.backend << "/" << c.sync;
}

// One blocking and one polling sync per backend (sysv_msg has no poll: busy is its polling one).
const Combo kCombos[] = {
    {"sysv_shm", "futex"},      {"sysv_shm", "spin"},    {"posix_shm", "futex"},
    {"posix_shm", "spin"},      {"mmap_file", "futex"},  {"mmap_file", "spin"},
    {"memfd", "futex"},         {"memfd", "spin"},       {"pipe", "block"},
    {"pipe", "busy"},           {"fifo", "block"},       {"fifo", "busy"},
    {"unix_stream", "block"},   {"unix_stream", "busy"}, {"unix_seqpacket", "block"},
    {"unix_seqpacket", "busy"}, {"sysv_msg", "block"},   {"sysv_msg", "busy"},
    {"posix_mq", "block"},      {"posix_mq", "busy"},    {"tcp_loopback", "block"},
    {"tcp_loopback", "busy"},
};

enum class Phase { kStartup, kMidRun, kStopHandshake };

struct PeerFault {
  int sig;
  Phase phase;
  int reps;
  std::string name() const {
    const char* p = phase == Phase::kStartup  ? "at start-up"
                    : phase == Phase::kMidRun ? "mid-run"
                                              : "in the stop handshake";
    return std::string(sig == SIGKILL ? "SIGKILL" : "SIGSTOP") + " of the peer " + p +
           ", --repetitions " + std::to_string(reps);
  }
};

// Does the fault to the run's peer; returns the run's age at the fault, or -1 with `why`.
//  start-up: the first peer as soon as it has exec'd (before it opened the channel, as a rule;
//  the window before exec is a case of its own, FaultPeerSpawn);
//  mid-run: the peer of the long measured call (the same peer for 0.3 s);
//  stop handshake: the first peer, held by ptrace from birth until it enters the write of its
//  report to standard output, i.e. after it acknowledged kFrameStop: the harness is then
//  inside Session::collect(). SIGKILL kills it there; SIGSTOP leaves it stopped there.
double inject(Bench& r, const PeerFault& f, pid_t& peer, std::string& why) {
  if (f.phase == Phase::kMidRun) {
    peer = steady_peer(r.pid(), 0.3, 10);
  } else {
    peer = first_peer(r.pid(), 10);
  }
  if (peer <= 0) {
    why = "no peer appeared";
    return -1;
  }
  if (f.phase == Phase::kStartup && !wait_exec(peer, r.pid(), 5)) {
    why = "the peer never exec'd";
    return -1;
  }
  if (f.phase != Phase::kStopHandshake) {
    ::kill(peer, f.sig);
    return r.age();
  }
  Tracer t(peer);
  if (!t.attached()) {
    why = "cannot ptrace the peer";
    return -1;
  }
  if (!t.run_to_write(STDOUT_FILENO, 10)) {
    why = "the peer never wrote its report";
    return -1;
  }
  double at = r.age();
  if (f.sig == SIGKILL) {
    t.kill_held();
  } else {
    t.detach_stopped();
  }
  return at;
}

// One test per backend/sync and repetition count (Google Benchmark aggregates repetitions, a
// path of its own when a repetition fails); the six faults of each run at once.
class FaultPeerDeath : public FaultTest,
                       public ::testing::WithParamInterface<std::tuple<Combo, int>> {};

TEST_P(FaultPeerDeath, IsReportedWithinTheDeadline) {
  const auto& [c, reps] = GetParam();
  std::vector<PeerFault> faults;
  for (int sig : {SIGKILL, SIGSTOP}) {
    for (Phase p : {Phase::kStartup, Phase::kMidRun, Phase::kStopHandshake}) {
      faults.push_back({sig, p, reps});
    }
  }
  // Polling runs each burn both CPUs; six at once starve the watchdog of the one that is
  // stalled past its deadline (a test artefact on 2 CPUs), so they go two at a time.
  const bool polling = c.sync == std::string("spin") || c.sync == std::string("busy");
  in_parallel(faults.size(), polling ? 2 : 6, [&](size_t i) {
    const PeerFault& f = faults[i];
    Sandbox box("peer");
    // 2 s of measuring: long enough that the mid-run fault (0.3 s after the peer is steady)
    // lands inside the measured call, even when six runs share the two CPUs.
    Bench r(box, run_args(box, c.backend, c.sync, "pingpong", 2,
                          {"--repetitions", std::to_string(f.reps)}));
    pid_t peer = -1;
    std::string why;
    double at = inject(r, f, peer, why);
    if (at < 0) {
      ADD_FAILURE() << f.name() << ": could not inject the fault: " << why << " ("
                    << r.wait(0).describe() << ")";
      return;
    }
    // A stopped peer is noticed by the watchdog only after the stall deadline.
    double deadline = at + (f.sig == SIGSTOP ? kTimeoutMs / 1000.0 : 0) + kSlackS;
    const Ended& e = r.wait(deadline + 2);
    Expect x;
    x.any_of = {f.sig == SIGKILL ? "killed by signal 9" : "no progress"};
    x.deadline_s = deadline;
    expect_outcome(f.name(), e, box, x);
    EXPECT_TRUE(reap_survivors({peer}, 2).empty()) << f.name() << ": the peer outlived the run";
  });
}

INSTANTIATE_TEST_SUITE_P(All, FaultPeerDeath,
                         ::testing::Combine(::testing::ValuesIn(kCombos), ::testing::Values(1, 3)),
                         [](const auto& info) {
                           const Combo& c = std::get<0>(info.param);
                           return std::string(c.backend) + "_" + c.sync + "_reps" +
                                  std::to_string(std::get<1>(info.param));
                         });

class FaultPeerSpawn : public FaultTest, public ::testing::WithParamInterface<int> {};

// A peer signalled before it exec'd: a harness that used posix_spawn (vfork) waited inside it
// for the child, with no watchdog yet, for ever if the child was stopped. The test catches the
// window exactly: it traces the harness until it forks (or vforks), and holds the new child in
// its first ptrace stop, before it ran; then kills it, or leaves it stopped there.
TEST_P(FaultPeerSpawn, PeerSignalledBeforeExecIsReported) {
  {
    const int sig = GetParam();
    const std::string what =
        std::string(sig == SIGKILL ? "SIGKILL" : "SIGSTOP") + " of the peer before it exec'd";
    Sandbox box("spawn");
    Bench r(box, run_args(box, "pipe", "block", "pingpong", 5));
    auto child = catch_spawned_child(r.pid(), 10);
    if (!child) {
      FAIL() << what << ": the harness spawned no peer (" << r.wait(0).describe() << ")";
    }
    pid_t peer = child->pid();
    if (sig == SIGKILL) {
      child->kill_held();
    } else {
      child->detach_stopped();
    }
    double deadline = r.age() + (sig == SIGSTOP ? kTimeoutMs / 1000.0 : 0) + kSlackS;
    const Ended& e = r.wait(deadline + 2);
    Expect x;
    x.any_of = {sig == SIGKILL ? "killed by signal 9" : "no progress"};
    x.deadline_s = deadline;
    expect_outcome(what, e, box, x);
    EXPECT_TRUE(reap_survivors({peer}, 2).empty()) << what << ": the peer outlived the run";
  }
}

INSTANTIATE_TEST_SUITE_P(Signal, FaultPeerSpawn, ::testing::Values(SIGKILL, SIGSTOP),
                         [](const auto& info) { return sigabbrev_np(info.param); });

// Every clause of the output (split at ';' and line ends) that says "killed by signal 9" must
// be about the peer that was killed (its index or pid): the others were killed by the harness
// when it gave up, not by the fault.
void expect_only_victim_blamed(const std::string& what, const std::string& text, int index,
                               pid_t pid) {
  const std::string idx = "peer " + std::to_string(index), id = std::to_string(pid);
  std::set<std::string> wrong;
  bool named = false;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line, '\n');) {
    std::istringstream parts(line);
    for (std::string part; std::getline(parts, part, ';');) {
      if (part.find("killed by signal 9") == std::string::npos) continue;
      bool has_idx = part.find(idx) != std::string::npos,
           has_id = part.find(id) != std::string::npos;
      part.erase(0, part.find_first_not_of(" '"));
      part.erase(part.find_last_not_of(" '") + 1);
      if (!has_idx && !has_id) wrong.insert(part);
      named = named || (has_idx && has_id);
    }
  }
  std::string list;
  for (const auto& w : wrong) list += "\n  '" + w + "'";
  EXPECT_TRUE(wrong.empty()) << what << ": blames peers that were not killed by the fault:" << list;
  EXPECT_TRUE(named) << what << ": no clause names " << idx << " with its pid " << id
                     << " as killed by signal 9";
}

using FaultFan = FaultTest;

TEST_F(FaultFan, OneKilledPeerOfThreeIsNamedAndOnlyIt) {
  struct Case {
    const char* workload;
    Combo combo;
  };
  const Case cases[] = {{"fanin", {"posix_shm", "futex"}},
                        {"fanin", {"pipe", "block"}},
                        {"fanout", {"posix_shm", "futex"}},
                        {"fanout", {"pipe", "block"}}};
  in_parallel(std::size(cases), 4, [&](size_t i) {
    const Case& c = cases[i];
    const std::string what = std::string(c.workload) + "/" + c.combo.backend + "/" + c.combo.sync;
    Sandbox box("fan");
    Bench r(box, run_args(box, c.combo.backend, c.combo.sync, c.workload, 5, {"--fan", "3"}));
    auto peers = steady_peers(r.pid(), 3, 0.3, 10);
    if (peers.size() != 3) {
      ADD_FAILURE() << what << ": three steady peers never appeared (" << r.wait(0).describe()
                    << ")";
      return;
    }
    ::kill(peers[1], SIGKILL);
    double deadline = r.age() + kSlackS;
    const Ended& e = r.wait(deadline + 2);
    Expect x;
    x.any_of = {"killed by signal 9"};
    x.deadline_s = deadline;
    expect_outcome(what, e, box, x);
    expect_only_victim_blamed(what, e.text(), 1, peers[1]);
    EXPECT_TRUE(reap_survivors(peers, 2).empty()) << what << ": a peer outlived the run";
  });
}

using FaultHandPeer = FaultTest;

// `ipcbench peer` run by hand (as its parent, so it gets past the parent check) with garbage:
// one error line and a non-zero exit, never a crash. Descriptors 3 and 4 are real sockets (a
// stream and a seqpacket pair made in the child), so the unix backends open them and the size
// is what goes wrong.
TEST_F(FaultHandPeer, GarbageArgumentsGetOneErrorLine) {
  const std::string parent = std::to_string(::getpid());
  auto peer = [&](const char* backend, const char* sync, const char* size, const char* object,
                  std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"peer",       "--workload", "pingpong",  "--role",   "echo",
                                  "--backend",  backend,      "--sync",    sync,       "--size",
                                  size,         "--verify",   "full",      "--mode",   "copy",
                                  "--sleep-ns", "1",          "--spin-ns", "1",        "--object",
                                  object,       "--cpu",      "0",         "--parent", parent};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  std::vector<std::vector<std::string>> cases = {
      peer("posix_shm", "spin", "99999999999999", "/nope"),
      peer("unix_stream", "block", "99999999999999", "fd:3"),
      peer("unix_seqpacket", "busy", "99999999999999", "fd:4"),
      peer("unix_stream", "block", "18446744073709551615", "fd:3"),
      peer("unix_stream", "poll", "18446744073709551600", "fd:3"),
      peer("unix_seqpacket", "block", "67108865", "fd:4"),  // 64 MiB + 1: beyond kMaxPayload
      peer("unix_stream", "block", "-1", "fd:3"),
      peer("unix_stream", "block", "64", "fd:3", {"--role", "nonsense"}),
      peer("unix_stream", "block", "64", "fd:3", {"--verify", ""}),
      peer("posix_shm", "nosuch", "64", "/ipcbench-1-00000000000000000000000000000000"),
      peer("sysv_shm", "futex", "99999999999999", "2147483647"),
      peer("memfd", "futex", "64", "fd:3"),
      peer("pipe", "block", "64", "fd:3,4"),
      peer("sysv_msg", "block", "64", "1,-2"),
      peer("tcp_loopback", "block", "64", "127.0.0.1:0:zz"),
      {"peer", "--parent", parent, "--size"},
      {"peer", "--parent", parent},
      {"peer",           "--workload", "pingpong",  "--role",   "echo",
       "--backend",      "posix_shm",  "--sync",    "spin",     "--size",
       "99999999999999", "--verify",   "full",      "--mode",   "copy",
       "--sleep-ns",     "1",          "--spin-ns", "1",        "--object",
       "/nope",          "--cpu",      "0",         "--parent", "1"},
  };
  Spawn sockets;
  sockets.prepare = [] {
    int s[2], q[2];
    return ::socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0 &&
           ::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q) == 0 && ::dup2(s[0], 3) == 3 &&
           ::dup2(q[0], 4) == 4;
  };
  in_parallel(cases.size(), 4, [&](size_t i) {
    std::string what;
    for (size_t k = 1; k < cases[i].size(); ++k) what += cases[i][k] + " ";
    Sandbox box("hand");
    Bench r(box, cases[i], sockets);
    const Ended& e = r.wait(5);
    bool one_line = std::count(e.err.begin(), e.err.end(), '\n') == 1;
    EXPECT_TRUE(!e.timed_out && !is_crash_signal(e.signal()) && e.exit_code() > 0 && one_line)
        << "peer " << what << "\n  ended: " << e.describe() << "; stderr: " << e.err;
    EXPECT_TRUE(box.leftovers().empty());
  });
}

}  // namespace
}  // namespace ipcb::test::fault
