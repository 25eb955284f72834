// Fault-injection helpers: each run of ipcbench in a private sandbox (manifest, mmap and out
// folders and its own object journal), started safely from several threads at once, ended on
// every path, and judged by what a faulted run must show: it ended within its deadline, with the
// expected exit status and a message naming the cause, without a crash signal, with a valid
// bench.json if any, and with none of its objects left.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace ipcb::test::fault {

// The stall deadline every faulted run is given (--timeout-ms), and the slack a run has on top
// of it to notice and report (scheduling on a loaded 2-CPU machine, the peer's reaping).
inline constexpr int kTimeoutMs = 1000;
inline constexpr double kSlackS = 3.0;

// The private folders of one or more runs. Destroying it removes them (not the objects: the
// leak check must see those).
class Sandbox {
 public:
  explicit Sandbox(const std::string& tag);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& root() const { return root_; }
  const std::string& manifest() const { return manifest_; }
  const std::string& mmap() const { return mmap_; }
  const std::string& out() const { return out_; }
  const std::string& journal() const { return journal_; }
  // IPCBENCH_MANIFEST_DIR, IPCBENCH_MMAP_DIR and IPCBENCH_JOURNAL for a run in this sandbox.
  std::vector<std::string> env() const;
  // The objects this sandbox's runs created that still exist (journaled ones, names carrying
  // one of the runs' pids, files in the manifest and mmap folders).
  std::set<std::string> leftovers() const;
  void note_pid(pid_t pid);
  // Hands the manifest, mmap and out folders to `uid` (a run as that user); its leftovers are
  // then cleaned as that user.
  void give_to(uid_t uid);
  uid_t owner() const { return owner_; }

 private:
  std::string root_, manifest_, mmap_, out_, journal_;
  uid_t owner_ = 0;
  std::set<pid_t> pids_;
};

// How a run ended.
struct Ended {
  bool timed_out = false;  // still running at the deadline: killed (SIGKILL) and reaped
  int status = 0;          // wait status when it ended by itself
  double seconds = 0;      // from the start of the run
  std::string out, err;
  int exit_code() const;  // -1 unless it exited
  int signal() const;     // 0 unless a signal ended it (by itself)
  std::string text() const { return out + err; }
  std::string describe() const;  // "exit 1", "signal 11 (Segmentation fault)", "hung ..."
};

bool is_crash_signal(int sig);  // SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE

// Options of a run: "K=V" sets a variable, a bare "K" removes it; `prepare` runs in the child
// between fork and exec (a new namespace, a limit, another user): it may only make syscalls.
struct Spawn {
  std::vector<std::string> env;
  std::function<bool()> prepare;
  std::string dir;  // where stdout and stderr go (default: a fresh folder in the sandbox)
};

// A Spawn::prepare that drops to `uid` (groups, gid = uid, uid), then runs `then` if given.
inline constexpr uid_t kNobody = 65534;
std::function<bool()> as_user(uid_t uid, std::function<bool()> then = {});

// One ipcbench process. The destructor kills and reaps it if it still runs, so an ASSERT that
// returns early never leaves a hung child.
class Bench {
 public:
  Bench(Sandbox& box, const std::vector<std::string>& args, const Spawn& opts = {});
  ~Bench();
  Bench(const Bench&) = delete;
  Bench& operator=(const Bench&) = delete;

  pid_t pid() const { return pid_; }
  double age() const;  // seconds since it started
  // Waits until it ends or `timeout_s` passed since the start (then kills it); idempotent.
  const Ended& wait(double timeout_s);
  bool ended() const { return done_; }

 private:
  Sandbox& box_;
  pid_t pid_ = -1;
  double t0_ = 0;
  std::string dir_;
  bool done_ = false;
  Ended e_;
};

// The arguments of a pingpong/stream/... run with the fault tests' defaults: one benchmark, the
// stall deadline above, no limit probe (fast start; the probe is tested elsewhere), the
// sandbox's out folder, then `extra`.
std::vector<std::string> run_args(const Sandbox& box, const std::string& backend,
                                  const std::string& sync, const std::string& workload,
                                  double min_time, const std::vector<std::string>& extra = {});

// What a faulted run must show. Each field is checked with its own EXPECT, so one report says
// everything that was wrong.
struct Expect {
  std::vector<int> exit_codes = {1};
  std::vector<std::string> any_of;   // stdout + stderr must contain one of these (if given)
  std::vector<std::string> none_of;  // ... and none of these
  double deadline_s = 0;             // it must have ended by this age (0: not checked)
  bool check_leaks = true;
};
// Checks `e` against `x`, then that bench.json (if written) is valid JSON, and that the
// sandbox holds no object. `what` names the case in every failure.
void expect_outcome(const std::string& what, const Ended& e, const Sandbox& box, const Expect& x);
// True when the run ended as `x` wants, without gtest failures (for retry loops).
bool outcome_matches(const Ended& e, const Expect& x);

// Runs job(0..n-1) on `width` threads. gtest assertions are thread-safe; each job must end
// (and reap) every process it starts.
void in_parallel(size_t n, int width, const std::function<void(size_t)>& job);

// Makes sure every process of `pids` is gone within `timeout_s` (a peer outliving its harness,
// e.g. a stopped one, is killed); returns the ones that were still there.
std::vector<pid_t> reap_survivors(const std::vector<pid_t>& pids, double timeout_s);

double now_s();
void sleep_s(double s);

// Every fault test: needs root (ptrace, /proc/PID/mem, namespaces, another user), mounts
// /dev/mqueue if missing (the leak check lists it), and checks at the end that no run of the
// test left an object (the journal-based snapshot of process_util).
class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<std::string> before_;
};

}  // namespace ipcb::test::fault
