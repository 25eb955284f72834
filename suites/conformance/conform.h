// What every conformance test shares: fresh object names, forked children (a test that may
// crash, changes credentials or checks lifetime across processes runs the risky part in a
// child), privilege checks, sysctl guards and cleanup guards. Conformance tests call the
// kernel directly: the syscalls themselves, and the errno they promise, are under test.
//
// Conventions for a test (see README.md, "Conformance"):
//   - one test per documented behaviour, named after it; a comment names the man page checked,
//     e.g. // shmctl(2): IPC_RMID marks the segment destroyed once the last process detaches.
//   - every object is made with a unique name from here and removed on every path (guards);
//   - a behaviour that cannot be checked here is CONFORM_SKIP("why"), never a pass.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

// Skips the current test, naming why it cannot be checked here.
#define CONFORM_SKIP(reason) GTEST_SKIP() << reason
// Names the man page (section) a test checks, for the report: CONFORM_MAN("shmctl(2)").
#define CONFORM_MAN(page) ::testing::Test::RecordProperty(::ipcb::conform::kPropMan, page)
// Names the checklist rows (suites/conformance/checklist.tsv) a test checks fully, separated by
// spaces, once per test (a second call replaces the first): CONFORM_ROWS("S01 S02").
#define CONFORM_ROWS(ids) ::testing::Test::RecordProperty(::ipcb::conform::kPropRows, ids)
// Ends the test as BROKEN: the environment broke its set-up (a full /dev/shm, a sysctl that
// changes the documented behaviour), so the behaviour was not checked, and this is no verdict
// on the kernel. `ipcbench conform` reports BROKEN with the reason; under plain GoogleTest it is
// a failure "BROKEN: reason". Returns from the test (like FAIL()): CONFORM_BROKEN("why").
#define CONFORM_BROKEN(reason) GTEST_FAIL() << "BROKEN: " << ::ipcb::conform::mark_broken(reason)
// Names environment preconditions (runner_env.cc: "dev_shm", "dev_mqueue", "tmp", ...) a test
// needs beyond those of its mechanism, separated by spaces: when one is broken, a FAIL of this
// test is reported BROKEN with the precondition named. CONFORM_NEEDS("dev_mqueue").
#define CONFORM_NEEDS(ids) ::testing::Test::RecordProperty(::ipcb::conform::kPropNeeds, ids)

// Expects a forked child to have exited with 0.
#define EXPECT_CHILD_OK(r) EXPECT_TRUE((r).exited && (r).code == 0) << (r).describe()
// Skips the test when the child reported kSkipCode (it could not check the behaviour here).
#define SKIP_IF_CHILD_SKIPPED(r, why) \
  if ((r).exited && (r).code == ::ipcb::conform::kSkipCode) CONFORM_SKIP(why)

namespace ipcb::conform {

// Built with ThreadSanitizer, whose interceptors judge some deliberate misuse under test (e.g.
// unlocking an unlocked mutex) as a bug and fail the process for it.
#if defined(__SANITIZE_THREAD__)
constexpr bool kBuiltWithTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kBuiltWithTsan = true;
#else
constexpr bool kBuiltWithTsan = false;
#endif
#else
constexpr bool kBuiltWithTsan = false;
#endif

// The test properties the runner reads (suites/conformance/runner*.cc).
inline constexpr const char* kPropMan = "man";
inline constexpr const char* kPropRows = "rows";
inline constexpr const char* kPropBroken = "broken";
inline constexpr const char* kPropNeeds = "needs";

// Records `reason` as the current test's "broken" property and returns it (CONFORM_BROKEN).
std::string mark_broken(const std::string& reason);

constexpr int kSkipCode = 77;        // a child's way of saying "cannot be checked here"
constexpr int kSetupFailed = 250;    // a child's exit code when it could not set up its check
constexpr int kCapSysResource = 24;  // CAP_SYS_RESOURCE, capability(7)

// The errno of a call that was expected to fail, or 0 if it succeeded. Pass the call itself:
// failed_with(::shmget(...)). The pointer form is for shmat(2)/mmap(2) ((void *) -1 on error).
int failed_with(long rc);
int failed_with(void* p);
// What ChildResult::describe() says of a child that exited with `code` (for EXPECT_EQ).
std::string exited_with(int code);

// In a child: prints "child: <what>: <errno text>" to stderr and returns `code` (its exit code).
int child_fail(int code, const char* what);

// Every object name made here (unique_name, unique_key, TempDir) is recorded in the cleanup
// manifest (harness/sys/manifest.h) by the process running the test, and released when the test
// ends, so `ipcbench clean` removes what a killed run left. Names made in a forked child are
// not recorded (the child's record would outlive it).

// A base for a guard that owns what it removes: it cannot be copied (nor assigned).
class NoCopy {
 public:
  NoCopy() = default;
  NoCopy(const NoCopy&) = delete;
  NoCopy& operator=(const NoCopy&) = delete;
};

// A name no other test or run uses, for shm_open, mq_open, sem_open: "/ipcb-conf-<hex>".
std::string unique_name();
// A fresh private directory (mode 0700) for files and FIFOs, removed with everything in it when
// the returned guard is destroyed.
class TempDir : NoCopy {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};
// A random SysV key no existing object uses (IPC_PRIVATE never).
key_t unique_key();

// How a forked child ended.
struct ChildResult {
  bool exited = false;  // normal exit with `code`
  int code = -1;
  int signal = 0;  // killed by this signal
  bool timed_out = false;
  std::string describe() const;
};
// How a child that waitpid(2) reported with `status` ended (exited or killed).
ChildResult child_ended(int status);
// Runs `fn` in a forked child (its return value is the exit code; it never returns into the
// test). The child is killed after `timeout_ms`. Only async-signal-safe work is wise in `fn`
// when the test uses threads; conformance tests are single-threaded.
ChildResult run_in_child(const std::function<int()>& fn, int timeout_ms = 10000);

bool is_root();
// True if the effective capability set holds `cap` (e.g. CAP_SYS_RESOURCE = 24).
bool has_capability(int cap);
// In a child: drops to nobody (uid and gid 65534, no supplementary groups). False on failure.
bool drop_to_nobody();
// `fn` in a child running as nobody, another user than the (root) creator; kSetupFailed if the
// child cannot drop to nobody.
ChildResult as_nobody(const std::function<int()>& fn);
// `fn` in a child that lacks root's privileges: as nobody when we are root, else as ourselves.
ChildResult unprivileged(const std::function<int()>& fn);

// A /proc/sys value ("kernel.shmmax" or "fs/mqueue/msg_max" style names both work). Signed:
// nullopt for a value above LLONG_MAX (kernel.shmmax's default, ULONG_MAX - 2^24, is one), so
// read those with read_sysctl_u64.
std::optional<long long> read_sysctl(const std::string& name);
// An unsigned /proc/sys value, the whole 64-bit range (kernel.shmmax, kernel.shmall).
std::optional<unsigned long long> read_sysctl_u64(const std::string& name);
// Sets a sysctl for the guard's lifetime and restores the old value on every path: the
// destructor (assertion failures too); a terminating signal (the old value is saved in the
// cleanup manifest before the change, and the manifest's handlers write it back); and SIGKILL
// (`ipcbench clean` restores it once the owner is gone, in the same IPC namespace for the
// per-namespace kernel.shm*, msg*, sem and fs.mqueue.* sysctls). ok() is false if it could not
// be set (not root, read-only /proc/sys): the test then skips.
class SysctlGuard : NoCopy {
 public:
  SysctlGuard(const std::string& name, long long value);
  ~SysctlGuard();
  bool ok() const { return ok_; }

 private:
  std::string name_;
  std::string old_;
  bool ok_ = false;
  int record_ = -1;
};

// `clock` now plus `ms` milliseconds (negative: in the past), as an absolute deadline.
timespec clock_in(clockid_t clock, int ms);
// Milliseconds of CLOCK_MONOTONIC since `start` (take it with clock_in(CLOCK_MONOTONIC, 0)).
double ms_since(const timespec& start);

// Waits up to `timeout_ms` until thread `tid` (of this process or another) sleeps in the kernel:
// state 'S' or 'D' in /proc/self/task/<tid>/stat, else in /proc/<tid>/stat. False if it never
// did, or its stat cannot be read. A blocking-call test signals or wakes the thread only after
// this is true, so the call under test is known to have blocked (the thread must have no other
// place to sleep between publishing its tid and the call).
bool wait_until_blocked(pid_t tid, int timeout_ms);

// Runs `cleanup` when the scope ends (removal of an object on every path).
class Cleanup : NoCopy {
 public:
  explicit Cleanup(std::function<void()> f) : f_(std::move(f)) {}
  ~Cleanup() {
    if (f_) f_();
  }
  void dismiss() { f_ = nullptr; }

 private:
  std::function<void()> f_;
};

// Arms a no-op handler for `sig` without SA_RESTART, so a blocking call it interrupts fails
// with EINTR (with `restart`, SA_RESTART: the call is restarted); restores the previous action
// when destroyed.
class InterruptingSignal : NoCopy {
 public:
  explicit InterruptingSignal(int sig, bool restart = false);
  ~InterruptingSignal();
  // Sends the signal to this thread after `delay_ms`, from a helper thread, which then runs
  // `then` (if given) `delay_ms` later still: the event a restarted call waits for.
  void send_after(int delay_ms, std::function<void()> then = nullptr);

 private:
  int sig_;
  struct sigaction* old_;
  std::function<void()> join_;
};

}  // namespace ipcb::conform
