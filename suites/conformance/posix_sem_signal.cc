// Conformance of POSIX semaphores under signals (sem_post(3), sem_wait(3), signal(7)): a post
// from a handler, EINTR of sem_wait and sem_timedwait, SA_RESTART, and killing a blocked waiter.
// Every signal is sent only once the waiting thread is seen asleep in the kernel.
#include <semaphore.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_sem_helpers.h"

namespace ipcb::conform {
namespace {

// The semaphore a signal handler posts to, and how often a handler ran.
sem_t* g_post_target = nullptr;
std::atomic<int> g_handled{0};
void post_handler(int) {
  ::sem_post(g_post_target);  // async-signal-safe (sem_post(3))
  ++g_handled;
}
void count_handler(int) {
  ++g_handled;
}

// Installs `handler` for `sig` (flags e.g. SA_RESTART) for the scope.
class Handler {
 public:
  Handler(int sig, void (*handler)(int), int flags = 0) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    ::sigaction(sig, &sa, &old_);
    g_handled = 0;
  }
  ~Handler() { ::sigaction(sig_, &old_, nullptr); }

 private:
  int sig_;
  struct sigaction old_ {};
};

// Waits up to 5 s until a handler ran `n` times.
bool handled(int n) {
  for (int i = 0; i < 5000 && g_handled.load() < n; ++i) {
    timespec tick{0, 1000000};
    ::nanosleep(&tick, nullptr);
  }
  return g_handled.load() >= n;
}

// True once `waiter` sleeps in its call and SIGUSR1 was sent to its thread.
bool interrupt(BlockedCall& waiter) {
  return waiter.blocked() && waiter.signal(SIGUSR1) == 0;
}

// sem_post(3): async-signal-safe: a post from a signal handler (here on the main thread) wakes
// a thread blocked in sem_wait.
TEST(PosixSem, PostFromSignalHandlerWakesWaiter) {
  CONFORM_MAN("sem_post(3)");
  CONFORM_ROWS("N19");
  Local l(0);
  ASSERT_TRUE(l.ok());
  g_post_target = &l.s;
  Handler h(SIGUSR1, post_handler);
  BlockedCall waiter = waiter_on(&l.s);
  ASSERT_TRUE(waiter.blocked()) << "the waiter never blocked";
  ASSERT_EQ(::raise(SIGUSR1), 0);  // the handler runs on this thread before raise returns
  EXPECT_EQ(g_handled.load(), 1);
  ASSERT_TRUE(waiter.returned(5000)) << "the handler's post did not wake the waiter";
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
  EXPECT_EQ(value_of(&l.s), 0);
}

// A process blocked in sem_wait on `s` (its pid published in `*pid`), killed by the test once
// it is seen asleep; `*blocked` tells whether it was.
ChildResult waiter_killed(sem_t* s, pid_t* pid, bool* blocked) {
  auto child = std::async(std::launch::async, [=] {
    return run_in_child([=] {
      __atomic_store_n(pid, ::getpid(), __ATOMIC_SEQ_CST);
      return ::sem_wait(s) == 0 ? 1 : 2;  // a return is a failure: nothing posts
    });
  });
  pid_t p = 0;
  for (int i = 0; i < 5000 && (p = __atomic_load_n(pid, __ATOMIC_SEQ_CST)) == 0; ++i) {
    ::usleep(1000);
  }
  *blocked = p != 0 && wait_until_blocked(p, 5000);
  if (p != 0) ::kill(p, SIGKILL);
  return child.get();
}

// sem_wait(3): EINTR when a signal handler interrupts a blocked sem_wait; when the handler
// itself posted, sem_wait either took that unit or failed EINTR leaving it; a process blocked in
// sem_wait can be killed.
TEST(PosixSem, WaitInterruptedBySignalFailsEintr) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N23");
  Local l(0);
  ASSERT_TRUE(l.ok());
  {
    Handler h(SIGUSR1, count_handler);
    BlockedCall waiter = waiter_on(&l.s);
    ASSERT_TRUE(interrupt(waiter)) << "the waiter never blocked";
    ASSERT_TRUE(waiter.returned(5000)) << "sem_wait was not interrupted";
    EXPECT_EQ(waiter.rc(), -1);
    EXPECT_EQ(waiter.err(), EINTR);
    EXPECT_EQ(value_of(&l.s), 0);
  }
  {
    g_post_target = &l.s;
    Handler h(SIGUSR1, post_handler);
    BlockedCall waiter = waiter_on(&l.s);
    ASSERT_TRUE(interrupt(waiter)) << "the waiter never blocked";
    ASSERT_TRUE(waiter.returned(5000));
    int v = value_of(&l.s);
    bool took = waiter.rc() == 0 && v == 0;
    bool eintr = waiter.rc() == -1 && waiter.err() == EINTR && v == 1;
    EXPECT_TRUE(took || eintr) << "rc " << waiter.rc() << " errno " << waiter.err() << " value "
                               << v;
  }
  SharedMemory<sem_t> shared;
  SharedMemory<pid_t> pid;
  ASSERT_TRUE(shared.ok() && pid.ok());
  ASSERT_EQ(::sem_init(shared.get(), 1, 0), 0);
  bool blocked = false;
  ChildResult r = waiter_killed(shared.get(), pid.get(), &blocked);
  EXPECT_TRUE(blocked) << "the waiting process never blocked";
  EXPECT_EQ(r.signal, SIGKILL) << r.describe();
}

// sem_wait(3): sem_timedwait fails EINTR when a signal handler interrupts it while blocked.
TEST(PosixSem, TimedwaitInterruptedBySignalFailsEintr) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N28");
  Local l(0);
  ASSERT_TRUE(l.ok());
  Handler h(SIGUSR1, count_handler);
  BlockedCall waiter = waiter_on(&l.s, true);
  ASSERT_TRUE(interrupt(waiter)) << "the waiter never blocked";
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), -1);
  EXPECT_EQ(waiter.err(), EINTR) << "not ETIMEDOUT: the deadline is 5 s away";
  EXPECT_EQ(g_handled.load(), 1);
}

// signal(7): since Linux 2.6.22 sem_wait is restarted after a handler installed with
// SA_RESTART: the handler runs while the call is blocked, and the call goes on waiting.
TEST(PosixSem, WaitRestartedWithSaRestart) {
  CONFORM_MAN("signal(7)");
  Local l(0);
  ASSERT_TRUE(l.ok());
  Handler h(SIGUSR1, count_handler, SA_RESTART);
  BlockedCall waiter = waiter_on(&l.s);
  ASSERT_TRUE(interrupt(waiter)) << "the waiter never blocked";
  ASSERT_TRUE(handled(1)) << "the signal was never handled";
  ASSERT_TRUE(waiter.blocked()) << "sem_wait did not wait again after the handler";
  EXPECT_FALSE(waiter.returned(0)) << "sem_wait returned without a post";
  ASSERT_EQ(::sem_post(&l.s), 0);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
}

}  // namespace
}  // namespace ipcb::conform
