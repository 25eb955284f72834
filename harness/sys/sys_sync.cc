// See sys_sync.h.
#include "harness/sys/sys_sync.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <utility>

namespace ipcb::sys {
namespace {

std::string sem_text(int id) {
  return "semaphore set id " + std::to_string(id);
}

std::string key_text(key_t key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key 0x%08x", static_cast<unsigned>(key));
  return buf;
}

// Time left until an absolute CLOCK_MONOTONIC deadline, as a relative timeout (0 if past).
timespec until(uint64_t deadline_ns) {
  uint64_t now = now_ns();
  return to_timespec(deadline_ns > now ? deadline_ns - now : 0);
}

// pthread calls return the error instead of setting errno.
Error pthread_error(int rc, const char* call) {
  errno = rc;
  return errno_error(call, "process-shared object in the segment");
}

// Initialises `*object` the pthread way: an attribute object made with `init_attr`, each
// {setter, value} of `settings` applied to it while they succeed, `init(object, &attr)`, and the
// attributes destroyed. The first failure is an error naming `what`.
template <typename Object, typename Attr>
Status init_with_attr(Object* object, int (*init)(Object*, const Attr*), int (*init_attr)(Attr*),
                      int (*destroy_attr)(Attr*),
                      std::initializer_list<std::pair<int (*)(Attr*, int), int>> settings,
                      const char* what) {
  Attr a;
  init_attr(&a);
  int rc = 0;
  for (const auto& [set, value] : settings) {
    if (rc == 0) rc = set(&a, value);
  }
  if (rc == 0) rc = init(object, &a);
  destroy_attr(&a);
  if (rc != 0) return pthread_error(rc, what);
  return ok_status();
}

}  // namespace

void yield_cpu() {
  ::sched_yield();
}

uid_t effective_uid() {
  return ::geteuid();
}

pid_t current_pid() {
  return ::getpid();
}

Result<int> semget_create_excl(key_t key) {
  int id = ::semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) {
    std::string detail;
    if (errno == ENOSPC)
      detail = "kernel.sem (SEMMNI/SEMMNS) is exhausted: ipcs -s, ipcbench clean";
    return errno_error("semget(IPC_CREAT|IPC_EXCL)", key_text(key), detail);
  }
  return id;
}

Result<int> semget_existing(key_t key) {
  int id = ::semget(key, 0, 0);
  if (id < 0) return errno_error("semget", key_text(key));
  return id;
}

Result<SemSetInfo> sem_stat(int id) {
  semid_ds ds{};
  if (::semctl(id, 0, IPC_STAT, &ds) != 0) return errno_error("semctl(IPC_STAT)", sem_text(id));
  return SemSetInfo{ds.sem_perm.uid, ds.sem_perm.cuid, static_cast<mode_t>(ds.sem_perm.mode & 0777),
                    static_cast<unsigned>(ds.sem_nsems)};
}

Result<bool> sem_down_until(int id, uint64_t deadline_ns) {
  sembuf op{0, -1, 0};
  timespec ts = until(deadline_ns);
  if (::semtimedop(id, &op, 1, &ts) == 0) return true;
  if (errno == EINTR) return true;  // a spurious wake-up: the caller re-checks
  if (errno == EAGAIN) return false;
  return errno_error("semtimedop", sem_text(id));
}

Status sem_up(int id) {
  sembuf op{0, 1, 0};
  if (retry_eintr([&] { return ::semop(id, &op, 1); }) != 0)
    return errno_error("semop(+1)", sem_text(id));
  return ok_status();
}

Status sem_rmid(int id) {
  if (::semctl(id, 0, IPC_RMID) != 0 && errno != EINVAL && errno != EIDRM)
    return errno_error("semctl(IPC_RMID)", sem_text(id));
  return ok_status();
}

Result<Fd> eventfd_create() {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return errno_error("eventfd(EFD_NONBLOCK|EFD_CLOEXEC)", "");
  return Fd(fd);
}

bool is_eventfd(int fd) {
  if (fd < 0) return false;
  static constexpr char kExpected[] = "anon_inode:[eventfd]";
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[sizeof kExpected + 1];
  ssize_t n = ::readlink(path, target, sizeof target);
  return n == static_cast<ssize_t>(sizeof kExpected - 1) &&
         std::memcmp(target, kExpected, sizeof kExpected - 1) == 0;
}

Result<Fd> dup_cloexec(int fd) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return errno_error("fcntl(F_DUPFD_CLOEXEC)", "fd " + std::to_string(fd));
  return Fd(copy);
}

Status eventfd_signal(int fd) {
  uint64_t one = 1;
  ssize_t n = retry_eintr([&] { return ::write(fd, &one, sizeof one); });
  if (n < 0 && errno != EAGAIN) return errno_error("write", "eventfd " + std::to_string(fd));
  return ok_status();
}

Status eventfd_drain(int fd) {
  uint64_t count = 0;
  ssize_t n = retry_eintr([&] { return ::read(fd, &count, sizeof count); });
  if (n < 0 && errno != EAGAIN) return errno_error("read", "eventfd " + std::to_string(fd));
  return ok_status();
}

Result<bool> poll_readable_until(int fd, uint64_t deadline_ns) {
  pollfd p{fd, POLLIN, 0};
  timespec ts = until(deadline_ns);
  int n = ::ppoll(&p, 1, &ts, nullptr);
  if (n < 0) {
    if (errno == EINTR) return true;  // a spurious wake-up: the caller re-checks
    return errno_error("ppoll", "fd " + std::to_string(fd));
  }
  if (n > 0 && (p.revents & (POLLERR | POLLNVAL)) != 0) {
    errno = EBADF;
    return errno_error("ppoll", "fd " + std::to_string(fd), "the descriptor is not pollable");
  }
  return n > 0;
}

Status mutex_init_shared_robust(pthread_mutex_t* m) {
  return init_with_attr(m, pthread_mutex_init, pthread_mutexattr_init, pthread_mutexattr_destroy,
                        {{pthread_mutexattr_setpshared, PTHREAD_PROCESS_SHARED},
                         {pthread_mutexattr_setrobust, PTHREAD_MUTEX_ROBUST}},
                        "pthread_mutex_init(pshared, robust)");
}

Status mutex_lock(pthread_mutex_t* m) {
  int rc = pthread_mutex_lock(m);
  if (rc == EOWNERDEAD) rc = pthread_mutex_consistent(m);
  if (rc != 0) return pthread_error(rc, "pthread_mutex_lock");
  return ok_status();
}

Result<bool> mutex_lock_until(pthread_mutex_t* m, uint64_t deadline_ns) {
#if defined(__SANITIZE_THREAD__)
  // TSan (GCC 12) does not intercept pthread_mutex_clocklock, so it would not see this lock
  // taken and report the condvar's unlock inside the wait as "unlock of an unlocked mutex".
  // Its intercepted timedlock takes a CLOCK_REALTIME deadline: the same instant, converted
  // (a wall-clock step can only lengthen or shorten one slice, in the TSan build only).
  const uint64_t mono = now_ns();
  timespec real_now;
  clock_gettime(CLOCK_REALTIME, &real_now);
  const uint64_t real = static_cast<uint64_t>(real_now.tv_sec) * 1'000'000'000ULL +
                        static_cast<uint64_t>(real_now.tv_nsec);
  timespec ts = to_timespec(real + (deadline_ns > mono ? deadline_ns - mono : 0));
  int rc = pthread_mutex_timedlock(m, &ts);
#else
  timespec ts = to_timespec(deadline_ns);
  int rc = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
#endif
  if (rc == EOWNERDEAD) {
    rc = pthread_mutex_consistent(m);
#if defined(__SANITIZE_THREAD__)
    // TSan's timedlock does not count a lock taken back from a dead owner as taken; tell it.
    if (rc == 0) {
      __tsan_mutex_pre_lock(m, 0);
      __tsan_mutex_post_lock(m, 0, 0);
    }
#endif
  }
  if (rc == ETIMEDOUT) return false;
  if (rc != 0) return pthread_error(rc, "pthread_mutex_clocklock");
  return true;
}

int mutex_kind(const pthread_mutex_t* m) {
  return m->__data.__kind;  // glibc's layout (bits/struct_mutex.h)
}

int robust_shared_mutex_kind() {
  static const int kind = [] {
    pthread_mutex_t m;
    return mutex_init_shared_robust(&m) ? mutex_kind(&m) : -1;
  }();
  return kind;
}

void mutex_unlock(pthread_mutex_t* m) {
  pthread_mutex_unlock(m);
}

void mutex_destroy(pthread_mutex_t* m) {
  pthread_mutex_destroy(m);
}

Status cond_init_shared(pthread_cond_t* c) {
  return init_with_attr(c, pthread_cond_init, pthread_condattr_init, pthread_condattr_destroy,
                        {{pthread_condattr_setpshared, PTHREAD_PROCESS_SHARED},
                         {pthread_condattr_setclock, CLOCK_MONOTONIC}},
                        "pthread_cond_init(pshared, CLOCK_MONOTONIC)");
}

Result<bool> cond_wait_until(pthread_cond_t* c, pthread_mutex_t* m, uint64_t deadline_ns) {
  timespec ts = to_timespec(deadline_ns);
  int rc = pthread_cond_timedwait(c, m, &ts);
  if (rc == EOWNERDEAD) rc = pthread_mutex_consistent(m);
  if (rc == 0) return true;
  if (rc == ETIMEDOUT) return false;
  return pthread_error(rc, "pthread_cond_timedwait");
}

void cond_broadcast(pthread_cond_t* c) {
  pthread_cond_broadcast(c);
}

void cond_destroy(pthread_cond_t* c) {
  pthread_cond_destroy(c);
}

}  // namespace ipcb::sys
