// What the System V conformance tests (sysv_*.cc) share beyond objects.h: acting on a call only
// once it is blocked in the kernel, a private IPC namespace for a child (limits, next_id and
// namespace tests change nothing in the host's namespace), the /proc/sysvipc tables, and a
// rendezvous of forked children (who is ready, with which pid; when they may go on).
#pragma once

#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {

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

}  // namespace ipcb::conform
