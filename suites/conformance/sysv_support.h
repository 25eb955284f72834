// What the System V conformance tests (sysv_*.cc) share beyond objects.h: making an object and
// ending the test if that failed, an object owned by an unprivileged child, acting on a call only
// once it is blocked in the kernel, a private IPC namespace for a child (limits, next_id and
// namespace tests change nothing in the host's namespace), the /proc/sysvipc tables, a
// rendezvous of forked children (who is ready, with which pid; when they may go on), and tables
// of cases whose rows are the same behaviour of the three kinds (each row in its kind's suite).
#pragma once

#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

// Declares `var`, a System V object of `Type` (ShmSegment, MsgQueue, SemSet) made with the
// arguments that follow, and ends the test (ASSERT) with the creating call's error if it could
// not be made: IPCB_SYSV_MAKE(SemSet, s, 2) stands for
//   SemSet s(2);
//   ASSERT_GE(s.id(), 0) << s.error();
#define IPCB_SYSV_MAKE(Type, var, ...) \
  Type var{__VA_ARGS__};               \
  ASSERT_GE(var.id(), 0) << var.error()
// Declares `var`, a ShmAttachment made with the arguments that follow (id, flags, address), and
// ends the test with shmat's error if the attach failed.
#define IPCB_SHM_ATTACH(var, ...)                  \
  ::ipcb::conform::ShmAttachment var{__VA_ARGS__}; \
  ASSERT_TRUE(var.ok()) << var.error()

// Declares `seg`, a segment of `size` bytes, and `a`, its attachment where the kernel chooses
// (ShmAttachment a(seg.id())), and ends the test if either failed.
#define IPCB_SHM_ATTACHED(seg, a, size)                   \
  IPCB_SYSV_MAKE(::ipcb::conform::ShmSegment, seg, size); \
  IPCB_SHM_ATTACH(a, seg.id())

namespace ipcb::conform {

// shmat(2)'s error return, (void *) -1.
inline void* const kShmatFailed = reinterpret_cast<void*>(-1);
// The page size, sysconf(_SC_PAGESIZE).
size_t page_size();
// Runs `fn` in a forked child (run_in_child) that is to die of a fault on purpose: it leaves no
// core file.
ChildResult run_faulting_child(const std::function<int()>& fn);
// In a child: reports "child: <what>: <got>, expected <want>" on stderr and returns `code`.
int mismatch(int code, const char* what, long long got, long long want);

// Creates an object of `kind` under `key` exclusively (IPC_CREAT | IPC_EXCL) with `mode`: a
// one-page segment, a queue, or a set of one semaphore. Its id, or -1 with errno.
int create_sysv(Sysv kind, key_t key, int mode);
// IPC_RMID of object `id` of `kind`; 0 or -1 with errno.
int remove_sysv_id(Sysv kind, int id);
// semctl(2) `cmd` with the buffer `buf` (a semid_ds or a seminfo) for set or index `idx`.
int sem_cmd(int idx, int cmd, void* buf);

// Runs `fn(id, key)` in a child that lacks root's privileges (unprivileged()), on an object it
// creates there with create_sysv(kind, fresh key, mode) and removes on every path (the key is
// swept here too). The child exits kSetupFailed if it cannot create the object.
ChildResult unprivileged_owner(Sysv kind, int mode,
                               const std::function<int(int id, key_t key)>& fn);

constexpr int kBlockedWaitMs = 2000;  // how long a call under test may take to block
constexpr int kNeverBlocked = 251;    // a child's exit code: the call under test never blocked

// True once thread `tid` of this process (or process `tid`) is blocked (state S or D) inside
// one of the system calls `nrs` (SYS_* numbers, read from /proc/.../syscall; where that file
// is unreadable, the state alone decides); false after `timeout_ms`.
bool wait_blocked_in(pid_t tid, std::initializer_list<long> nrs, int timeout_ms = kBlockedWaitMs);

// Runs `call` (it returns 0 or an errno) on this thread while a helper thread waits until this
// thread is blocked in one of `nrs` and then runs `act` (a signal, a removal, a release).
// Returns what `call` returned, or kNeverBlocked if the thread was not seen blocked within
// kBlockedWaitMs (`act` then runs anyway, so the call cannot hang the test).
int when_blocked(const std::function<int()>& call, std::initializer_list<long> nrs,
                 const std::function<void()>& act);

// The system calls a thread blocked in these libc calls sleeps in.
#define IPCB_MSGSND_CALLS \
  { SYS_msgsnd }
#define IPCB_MSGRCV_CALLS \
  { SYS_msgrcv }
#define IPCB_SEMOP_CALLS \
  { SYS_semop, SYS_semtimedop }

// Why a test skips when enter_private_ipc_ns() fails.
constexpr const char* kNoPrivateIpcNs =
    "cannot make a private IPC namespace: unshare(CLONE_NEWIPC) needs CAP_SYS_ADMIN, or user "
    "namespaces (user.max_user_namespaces > 0, not blocked by seccomp or the container)";

// In a forked child: moves it into a new IPC namespace (unshare(CLONE_NEWIPC)). Without
// CAP_SYS_ADMIN it makes a user namespace too, mapping this uid and gid to its root, which owns
// the new IPC namespace and may write its kernel.shm*/msg*/sem sysctls. False if neither works.
bool enter_private_ipc_ns();
// Writes `value` to /proc/sys/kernel/<name>: only in a child's private IPC namespace.
bool write_ipc_sysctl(const std::string& name, const std::string& value);
// Runs `fn` in a forked child (run_in_child) that first enters a private IPC namespace
// (enter_private_ipc_ns); the child exits kSkipCode if it cannot.
ChildResult in_private_ipc_ns(const std::function<int()>& fn);

// The rows of /proc/sysvipc/{shm,msg,sem} of this IPC namespace, each a map from the header's
// column names (key, shmid, size, rss, swap, qnum, cbytes, nsems, ...) to the numeric value.
// The perms column is octal (as printed). Empty if unreadable.
std::vector<std::map<std::string, long long>> sysvipc_rows(Sysv kind);

// The wall clock as the kernel stamps SysV times (ktime_get_real_seconds(), which can lag
// CLOCK_REALTIME by a tick): whole seconds of CLOCK_REALTIME_COARSE.
time_t ipc_now();
// Sleeps until ipc_now() is past `t` (at most a second and a tick later), so that a time the
// kernel stamps next differs from one stamped at `t`.
void sleep_past_second(time_t t);

// Where forked children meet the test, in MAP_SHARED memory (SharedMemory<Rendezvous>): each
// child calls ready() when it got where the test waits for it (its pid is recorded), then may
// hold on go_wait() until the test calls go(). Waits are bounded (false on timeout).
struct Rendezvous {
  std::atomic<int> slots{0};  // pids[] taken
  std::atomic<int> n{0};      // children ready (their pid is in pids[])
  std::atomic<pid_t> pids[64];
  std::atomic<bool> released{false};
  void ready();
  bool wait_for(int want, int timeout_ms = 3000) const;  // in the test: `want` children ready
  void go() { released.store(true); }                    // in the test
  bool go_wait(int timeout_ms = 5000) const;             // in a child
};

// The suite of a kind's tests: "SysvShm", "SysvMsg" or "SysvSem".
const char* sysv_suite(Sysv kind);

// Registers every case of `cases` (a table with static storage, each row with a `Sysv kind` and a
// CaseInfo `info`) as test sysv_suite(kind).info.name, run by `body`, as CONFORM_CASES does for
// a table of one suite. Returns true (for a static initialiser).
template <class Case, size_t N>
bool register_sysv_cases(const Case (&cases)[N], void (*body)(const Case&), const char* file,
                         int line) {
  for (const Case& c : cases) {
    ::testing::RegisterTest(
        sysv_suite(c.kind), c.info.name, nullptr, nullptr, file, line,
        [&c, body]() -> ::testing::Test* { return new detail::CaseTest<Case>(&c, body); });
  }
  return true;
}

}  // namespace ipcb::conform

// Registers the table `cases`, each row under its kind's suite and run by `body`, here.
#define IPCB_SYSV_CASES(cases, body)                                                \
  [[maybe_unused]] const bool CONFORM_CASES_CAT(sysv_cases_registered_, __LINE__) = \
      ::ipcb::conform::register_sysv_cases(cases, body, __FILE__, __LINE__)
