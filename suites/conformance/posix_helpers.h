// Helpers of the POSIX shm, mmap'd file, pipe/FIFO and POSIX mq conformance tests: private
// namespaces (through a user namespace when not root), a private tmpfs, a child the test can
// act on once it is blocked, descriptor limits and an exclusive-create race.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <sys/types.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "suites/conformance/conform.h"

namespace ipcb::conform {

struct MqQueue;

// In a child: unshares `flags` (CLONE_NEWIPC, CLONE_NEWNS, ...). Root does so directly; any other
// user first enters a new user namespace in which it is root (its uid and gid mapped to 0), so
// it gains privileges over the new namespaces only, never over the host. False on failure.
bool enter_private_namespaces(int flags);

// In a child that entered a private mount namespace: makes every mount private and mounts a
// tmpfs of `bytes` on `dir`; it vanishes with the namespace. False on failure.
bool mount_private_tmpfs(const char* dir, size_t bytes);

// In a child: becomes nobody (drop_to_nobody) and stays able to enter a user namespace (a
// credential change clears the dumpable flag, which would hide /proc/self/uid_map).
bool become_nobody();

// A file of `size` bytes in a fresh private directory, open with `flags` (fd is -1 if that
// failed); closed, and removed with its directory, when the scope ends.
struct TempFile {
  TempDir dir;
  std::string path = dir.file("mapped");
  int fd = -1;
  explicit TempFile(size_t size, int flags = O_RDWR);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  bool ok() const { return fd >= 0; }
  // What pread(2) gives for `n` bytes at `off` (shorter at the end of the file).
  std::string read_back(size_t off, size_t n) const;
};

// A forked child running `fn` while the test goes on. `fn` gets `ready`, which it calls right
// before the call under test; wait_blocked() returns once it has been called and the child then
// sleeps in the kernel. The child is killed after `timeout_ms` (or when the object is destroyed
// without wait()), so a call that never returns is a failure, never a hang.
class AsyncChild {
 public:
  using Ready = std::function<void()>;
  explicit AsyncChild(const std::function<int(const Ready& ready)>& fn, int timeout_ms = 5000);
  ~AsyncChild();
  AsyncChild(const AsyncChild&) = delete;
  AsyncChild& operator=(const AsyncChild&) = delete;
  pid_t pid() const { return pid_; }
  // True once the child called ready() (within `timeout_ms`).
  bool wait_ready(int timeout_ms = 2000);
  // True once the child called ready() and is then blocked (state S or D), within `timeout_ms`.
  bool wait_blocked(int timeout_ms = 2000);
  // How the child ended (waits at most until the deadline given at construction).
  ChildResult wait();

 private:
  pid_t pid_ = -1;
  int ready_fd_ = -1;
  bool reaped_ = false;
  long long deadline_ms_ = 0;
};

// The lowest descriptor number not in use: what the next open(2), pipe(2) or shm_open(3) gets.
int lowest_free_fd();
// In a child: sets RLIMIT_NOFILE's soft limit to `limit`. False on failure.
bool set_nofile_limit(long limit);

// Creates `q` (MqQueue::create(maxmsg, msgsize, extra)) and sends it `messages` in order, at
// priority 0: success, or the call that failed and its errno. A test's set-up is then one line:
// ASSERT_TRUE(make_queue(q, 4, 16, {"one", "two"})).
::testing::AssertionResult make_queue(MqQueue& q, long maxmsg = 4, long msgsize = 64,
                                      std::initializer_list<std::string_view> messages = {},
                                      int extra = 0);

// Expects `call(deadline)` (its errno, 0 on success), given an absolute deadline `ms` ahead on
// `clock`, to fail ETIMEDOUT once the deadline has passed: not sooner, and within 2 s.
void expect_timeout_at_deadline(clockid_t clock, int ms,
                                const std::function<int(const timespec&)>& call);

// Initialises `m` as a process-shared mutex (for MAP_SHARED memory) of `type` and robustness
// `robust`: 0 or the first error number.
int init_shared_mutex(pthread_mutex_t* m, int type = PTHREAD_MUTEX_NORMAL,
                      int robust = PTHREAD_MUTEX_STALLED);

// Starts `procs` children at once; each calls `create(name)` for every name in `names` (each child
// in another order) and counts its successes (create returns 0) per name. Returns the winners per
// name, or an empty vector if a child failed otherwise than with EEXIST or did not finish.
std::vector<int> exclusive_create_race(int procs, const std::vector<std::string>& names,
                                       const std::function<int(const std::string&)>& create);

}  // namespace ipcb::conform
