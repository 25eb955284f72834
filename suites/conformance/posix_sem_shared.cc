// Conformance of POSIX semaphores shared between processes and threads (sem_init(3),
// sem_overview(7), sem_unlink(3), sem_post(3)): process-shared semaphores in POSIX and System V
// shared memory, the absence of a SEM_NSEMS_MAX limit, unlink under a blocked waiter, and the
// order in which real-time waiters are woken.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_sem_helpers.h"

namespace ipcb::conform {
namespace {

// In a child: posts twice to `t` once thread `waiter` sleeps; 0, or 3 if it never did, 4 if a
// post failed.
int post_twice_once_blocked(sem_t* t, pid_t waiter) {
  if (!wait_until_blocked(waiter, 5000)) return 3;
  return ::sem_post(t) == 0 && ::sem_post(t) == 0 ? 0 : 4;
}

// sem_init(3), sem_overview(7): a process-shared semaphore placed in POSIX shared memory
// (shm_open + mmap) works across fork: posts of a child that maps the object by name wake the
// parent's wait, and the count the child left is seen by the parent.
TEST(PosixSem, ProcessSharedSemaphoreInPosixShmWorksAcrossFork) {
  CONFORM_MAN("sem_init(3)");
  CONFORM_ROWS("N02");
  std::string name = unique_name();
  Fd fd(::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600));
  ASSERT_GE(fd.get(), 0) << std::strerror(errno);
  Cleanup unlink([&name] { ::shm_unlink(name.c_str()); });
  ASSERT_EQ(::ftruncate(fd.get(), sizeof(sem_t)), 0);
  Mapping m(fd.get(), sizeof(sem_t));
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  sem_t* s = reinterpret_cast<sem_t*>(m.p);
  ASSERT_EQ(::sem_init(s, 1, 0), 0) << std::strerror(errno);
  Cleanup destroy([s] { ::sem_destroy(s); });
  ChildResult r = wait_while_child_posts(s, [&name](pid_t waiter) {
    Fd own(::shm_open(name.c_str(), O_RDWR, 0));
    if (own.get() < 0) return 1;
    Mapping mine(own.get(), sizeof(sem_t));  // its own mapping of the object
    if (!mine.ok()) return 2;
    return post_twice_once_blocked(reinterpret_cast<sem_t*>(mine.p), waiter);
  });
  EXPECT_CHILD_OK(r) << " (3: the parent never blocked)";
  EXPECT_EQ(value_of(s), 1) << "one of the child's two posts is left";
}

// sem_init(3): a process-shared semaphore may live in System V shared memory: a process that
// attaches the segment by id (at an address of its own) wakes a waiter of another process.
TEST(PosixSem, ProcessSharedSemaphoreInSysvSegmentWorksAcrossProcesses) {
  CONFORM_MAN("sem_init(3)");
  CONFORM_ROWS("U10");
  ShmSegment seg(4096);
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment at(seg.id());
  ASSERT_TRUE(at.ok()) << at.error();
  sem_t* s = reinterpret_cast<sem_t*>(at.data());
  ASSERT_EQ(::sem_init(s, 1, 0), 0) << std::strerror(errno);
  Cleanup destroy([s] { ::sem_destroy(s); });
  ChildResult r = wait_while_child_posts(s, [id = seg.id()](pid_t waiter) {
    void* p = ::shmat(id, nullptr, 0);  // at an address of its own
    if (p == reinterpret_cast<void*>(-1)) return 1;
    int rc = post_twice_once_blocked(static_cast<sem_t*>(p), waiter);
    ::shmdt(p);
    return rc;
  });
  EXPECT_CHILD_OK(r) << " (3: the parent never blocked)";
  EXPECT_EQ(value_of(s), 1);
}

// sem_init(3) [IMPL]: Linux sets no SEM_NSEMS_MAX: sysconf reports it indeterminate (-1 with
// errno untouched), so sem_init never fails ENOSPC for the number of semaphores (here 10000).
TEST(PosixSem, NoSemNsemsMaxLimit) {
  CONFORM_MAN("sem_init(3)");
  CONFORM_ROWS("N04");
  errno = 0;
  EXPECT_EQ(::sysconf(_SC_SEM_NSEMS_MAX), -1);
  EXPECT_EQ(errno, 0) << "-1 with errno set would mean an error, not 'no limit'";
  constexpr int kMany = 10000;
  auto sems = std::make_unique<sem_t[]>(kMany);
  int made = 0;
  while (made < kMany && ::sem_init(&sems[made], 0, 0) == 0) ++made;
  int err = errno;
  for (int i = 0; i < made; ++i) ::sem_destroy(&sems[i]);
  EXPECT_EQ(made, kMany) << std::strerror(err);
}

// sem_unlink(3): unlinking a named semaphore a thread is blocked on returns at once; the
// waiter stays blocked until a post.
TEST(PosixSem, UnlinkDoesNotDisturbBlockedWaiter) {
  CONFORM_MAN("sem_unlink(3)");
  CONFORM_ROWS("N16");
  std::string name = unique_name();
  sem_t* s = ::sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 0);
  ASSERT_NE(s, SEM_FAILED) << std::strerror(errno);
  Cleanup remove([&] {
    ::sem_close(s);
    ::sem_unlink(name.c_str());
  });
  BlockedCall waiter = waiter_on(s, true);
  ASSERT_TRUE(waiter.blocked()) << "the waiter never blocked";
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::sem_unlink(name.c_str()), 0);
  EXPECT_LT(ms_since(t0), 1000) << "sem_unlink blocked";
  EXPECT_TRUE(waiter.blocked(0)) << "the waiter no longer sleeps";
  EXPECT_FALSE(waiter.returned(0)) << "the unlink woke the waiter";
  ASSERT_EQ(::sem_post(s), 0);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
}

// What a real-time waiter thread reports.
struct RtWaiter {
  std::atomic<pid_t> tid{0};
  std::atomic<int> order{0};  // 1 if it got the first unit, 2 the second
};

struct RtShared {
  sem_t s;
  std::atomic<int> next{1};
  RtWaiter w[2];
};

// Starts a SCHED_FIFO thread of `priority` waiting on shared->s; 0 or pthread_create's error.
int start_rt_waiter(RtShared* shared, int i, int priority, pthread_t* t) {
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
  pthread_attr_setschedpolicy(&a, SCHED_FIFO);
  sched_param p{};
  p.sched_priority = priority;
  pthread_attr_setschedparam(&a, &p);
  struct Arg {
    RtShared* shared;
    int i;
  };
  auto* arg = new Arg{shared, i};
  int rc = pthread_create(
      t, &a,
      [](void* v) -> void* {
        std::unique_ptr<Arg> arg(static_cast<Arg*>(v));
        RtShared* sh = arg->shared;
        sh->w[arg->i].tid = ::gettid();
        if (wait_ms(&sh->s) == 0) sh->w[arg->i].order = sh->next++;
        return nullptr;
      },
      arg);
  if (rc != 0) delete arg;
  pthread_attr_destroy(&a);
  return rc;
}

// In a child: two SCHED_FIFO waiters (priority 10 started first, then 20) block on a semaphore;
// one post must wake the priority-20 one. Exit 0, kSkipCode without RT scheduling, else a code.
int highest_priority_woken_first() {
  RtShared shared;
  if (::sem_init(&shared.s, 0, 0) != 0) return 10;
  pthread_t t[2];
  int rc = start_rt_waiter(&shared, 0, 10, &t[0]);
  if (rc == EPERM) return kSkipCode;
  if (rc != 0) return 11;
  if (start_rt_waiter(&shared, 1, 20, &t[1]) != 0) {
    ::sem_post(&shared.s);
    pthread_join(t[0], nullptr);
    return 12;
  }
  int code = 0;
  for (auto& w : shared.w) {
    while (w.tid.load() == 0) ::sched_yield();
    if (!wait_until_blocked(w.tid.load(), 5000)) code = 13;
  }
  ::sem_post(&shared.s);
  pthread_join(t[1], nullptr);  // the priority-20 waiter: woken by the first post
  if (code == 0 && shared.w[1].order.load() != 1) code = 1;
  ::sem_post(&shared.s);
  pthread_join(t[0], nullptr);
  if (code == 0 && shared.w[0].order.load() != 2) code = 2;
  ::sem_destroy(&shared.s);
  return code;
}

// sem_post(3): with waiters scheduled SCHED_FIFO, the highest-priority waiter is woken first
// (whichever began to wait first).
TEST(PosixSem, PostWakesHighestPriorityWaiterFirst) {
  CONFORM_MAN("sem_post(3)");
  CONFORM_ROWS("N20");
  rlimit rt{};
  ::getrlimit(RLIMIT_RTPRIO, &rt);
  ChildResult r = run_in_child(highest_priority_woken_first, 10000);
  SKIP_IF_CHILD_SKIPPED(r, "SCHED_FIFO threads need CAP_SYS_NICE or RLIMIT_RTPRIO >= 20 (here "
                               << rt.rlim_cur << "): run as root");
  EXPECT_CHILD_OK(r) << " (1: the priority-10 waiter was woken first, 13: a waiter never blocked)";
}

}  // namespace
}  // namespace ipcb::conform
