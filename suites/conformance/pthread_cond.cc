// Conformance of process-shared condition variables in MAP_SHARED memory
// (pthread_cond_wait(3p), pthread_cond_timedwait(3p), pthread_cond_signal(3p),
// pthread_cond_broadcast(3p), pthread_cond_destroy(3p), pthread_condattr_setclock(3p)): waiters
// in other processes, the mutex held on every return, timeouts on both clocks, destruction.
#include <pthread.h>
#include <time.h>

#include <cerrno>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// What a test shares with its forked children. `step` and `checked` are the hand-shake of a
// waiter child and the parent, read and written atomically outside the mutex.
struct Shared {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  int waiting;  // processes inside a wait on `cond` (under `mutex`)
  int tokens;   // wake-ups to consume (under `mutex`)
  int woken;    // tokens consumed (under `mutex`)
  int step, checked;
};

void store(int* p, int v) {
  __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
// Polls `done` every 0.2 ms until it is true (true) or 5 s have passed (false).
bool poll_until(const std::function<bool()>& done) {
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  while (!done()) {
    if (ms_since(start) > 5000) return false;
    timespec tick{0, 200000};
    nanosleep(&tick, nullptr);
  }
  return true;
}
// Waits up to 5 s until `*p` reads `v`.
bool await(const int* p, int v) {
  return poll_until([p, v] { return __atomic_load_n(p, __ATOMIC_SEQ_CST) == v; });
}
// `field` of `s`, read under the mutex.
int locked_read(Shared* s, int Shared::*field) {
  pthread_mutex_lock(&s->mutex);
  int v = s->*field;
  pthread_mutex_unlock(&s->mutex);
  return v;
}

// Makes s->mutex a process-shared mutex of `type`, and s->cond a process-shared condition
// variable timed against `clock`: 0 or the first error number.
int init_shared(Shared* s, int type = PTHREAD_MUTEX_NORMAL, clockid_t clock = CLOCK_MONOTONIC) {
  if (int rc = init_shared_mutex(&s->mutex, type)) return rc;
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  int rc = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_condattr_setclock(&a, clock);
  if (rc == 0) rc = pthread_cond_init(&s->cond, &a);
  pthread_condattr_destroy(&a);
  return rc;
}

// Gives `tokens` wake-ups and wakes with `broadcast` or one signal.
void wake(Shared* s, int tokens, bool broadcast) {
  pthread_mutex_lock(&s->mutex);
  s->tokens += tokens;
  if (broadcast) {
    pthread_cond_broadcast(&s->cond);
  } else {
    pthread_cond_signal(&s->cond);
  }
  pthread_mutex_unlock(&s->mutex);
}

// In the waiter child, after a wait returned `rc` (want `expected`) holding the mutex: tells the
// parent (step `n`), which checks that the mutex is held, then unlocks. 0 or a failure code.
int report_held(Shared* s, int n, int rc, int expected) {
  store(&s->step, n);
  bool checked = await(&s->checked, n);
  int unlocked = pthread_mutex_unlock(&s->mutex);
  if (rc != expected) return 10 * n + 1;
  if (!checked) return 10 * n + 2;
  return unlocked == 0 ? 0 : 10 * n + 3;
}

// The waiter child: (1) waits until the parent signals, (2) times out, (3) passes an invalid
// deadline; each returns with the mutex held (the parent checks between the steps).
int waiter_steps(Shared* s, clockid_t clock) {
  pthread_mutex_lock(&s->mutex);
  s->waiting = 1;
  timespec until = clock_in(clock, 5000);
  int rc = 0;
  while (s->tokens == 0 && rc == 0) rc = pthread_cond_timedwait(&s->cond, &s->mutex, &until);
  if (int code = report_held(s, 1, rc, 0)) return code;
  pthread_mutex_lock(&s->mutex);
  until = clock_in(clock, 5);
  rc = pthread_cond_timedwait(&s->cond, &s->mutex, &until);
  if (int code = report_held(s, 2, rc, ETIMEDOUT)) return code;
  pthread_mutex_lock(&s->mutex);
  until = clock_in(clock, 5000);
  until.tv_nsec = 1000000000;
  rc = pthread_cond_timedwait(&s->cond, &s->mutex, &until);
  return report_held(s, 3, rc, EINVAL);
}

// In the parent: signals the waiter once it waits, then at each step checks that the waiter's
// mutex is held (trylock EBUSY) and lets it go on. False on a failed check.
bool drive_waiter(Shared* s) {
  bool ok = true;
  if (!poll_until([s] { return locked_read(s, &Shared::waiting) == 1; })) return false;
  wake(s, 1, false);
  for (int n = 1; n <= 3; ++n) {
    if (!await(&s->step, n)) return false;
    int rc = pthread_mutex_trylock(&s->mutex);
    if (rc == 0) pthread_mutex_unlock(&s->mutex);
    ok = ok && rc == EBUSY;
    store(&s->checked, n);
  }
  return ok;
}

// pthread_cond_wait(3p), pthread_cond_timedwait(3p): a process-shared condvar waited on in
// another process returns with the mutex held, when signalled and after a timeout; an invalid
// deadline gives EINVAL and leaves the mutex held; for each mutex type and condvar clock.
TEST(Pthread, CondWaitReturnsWithMutexHeldEachTypeAndClock) {
  CONFORM_MAN("pthread_cond_timedwait(3p)");
  CONFORM_ROWS("T05");
  for (int type : {PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_ERRORCHECK, PTHREAD_MUTEX_RECURSIVE}) {
    for (clockid_t clock : {CLOCK_REALTIME, CLOCK_MONOTONIC}) {
      SCOPED_TRACE("mutex type " + std::to_string(type) + ", clock " + std::to_string(clock));
      SharedMemory<Shared> region;
      ASSERT_TRUE(region.ok() && init_shared(region.get(), type, clock) == 0);
      Shared* s = region.get();
      auto waiter = std::async(std::launch::async, [s, clock] {
        return run_in_child([s, clock] { return waiter_steps(s, clock); });
      });
      EXPECT_TRUE(drive_waiter(s)) << "the mutex was not held after a wait returned";
      ChildResult r = waiter.get();
      EXPECT_CHILD_OK(r) << " (tens digit: step 1 signalled, 2 timeout, 3 EINVAL; "
                            "units: 1 wrong result, 2 no check, 3 unlock failed)";
      EXPECT_EQ(pthread_mutex_trylock(&s->mutex), 0) << "the waiter left the mutex locked";
      pthread_mutex_unlock(&s->mutex);
    }
  }
}

// A child that waits on the shared condvar until a token is there, takes it and exits 0; 1 if
// it waited 8 s in vain (longer than the parent looks for a wake-up).
int take_token(Shared* s) {
  timespec until = clock_in(CLOCK_MONOTONIC, 8000);
  pthread_mutex_lock(&s->mutex);
  ++s->waiting;
  int rc = 0;
  while (s->tokens == 0 && rc != ETIMEDOUT) {
    rc = pthread_cond_timedwait(&s->cond, &s->mutex, &until);
  }
  bool got = s->tokens > 0;
  if (got) {
    --s->tokens;
    ++s->woken;
  }
  --s->waiting;
  pthread_mutex_unlock(&s->mutex);
  return got ? 0 : 1;
}

// `n` token-taking children waiting on the condition variable of a fresh Shared.
class Waiters {
 public:
  // Makes the Shared and starts the children; returns once all of them wait. False if that
  // failed, or they did not all wait within 5 s (they are then given their tokens at once, so
  // none waits out its own deadline).
  bool start(int n) {
    if (!region_.ok() || init_shared(region_.get()) != 0) return false;
    Shared* s = region_.get();
    for (int i = 0; i < n; ++i) {
      children_.push_back(std::async(std::launch::async,
                                     [s] { return run_in_child([s] { return take_token(s); }); }));
    }
    // Counted under the mutex, which they gave up inside pthread_cond_timedwait.
    if (poll_until([s, n] { return locked_read(s, &Shared::waiting) == n; })) return true;
    wake(s, n, true);
    return false;
  }
  Shared* shared() const { return region_.get(); }
  // Expects every child to have taken a token and exited.
  void expect_all_woken() {
    for (auto& c : children_) {
      ChildResult r = c.get();
      EXPECT_CHILD_OK(r) << " (1: never woken)";
    }
  }

 private:
  SharedMemory<Shared> region_;
  std::vector<std::future<ChildResult>> children_;
};

// pthread_cond_signal(3p): one signal wakes at least one of the waiters in other processes;
// pthread_cond_broadcast(3p): one broadcast wakes all the others.
TEST(Pthread, CondSignalWakesOneAndBroadcastWakesAllProcesses) {
  CONFORM_MAN("pthread_cond_broadcast(3p)");
  CONFORM_ROWS("T06");
  Waiters waiters;
  ASSERT_TRUE(waiters.start(3)) << "the children never waited";
  Shared* s = waiters.shared();
  wake(s, 1, false);
  int woken = 0;
  poll_until([s, &woken] { return (woken = locked_read(s, &Shared::woken)) != 0; });
  EXPECT_EQ(woken, 1) << "one signal, one token: exactly one taker";
  wake(s, 2, true);
  waiters.expect_all_woken();
  EXPECT_EQ(s->woken, 3);
}

// pthread_cond_destroy(3p): destroying a process-shared condvar right after a broadcast (no
// thread is blocked on it any more) is safe: it returns 0 without hanging, and every waiter
// returns. The broadcaster is a child, so a hang is a timeout, not a hung run.
TEST(Pthread, CondDestroyRightAfterBroadcastIsSafe) {
  CONFORM_MAN("pthread_cond_destroy(3p)");
  CONFORM_ROWS("T07");
  Waiters waiters;
  ASSERT_TRUE(waiters.start(2)) << "the children never waited";
  ChildResult d = run_in_child(
      [s = waiters.shared()] {
        wake(s, 2, true);
        return pthread_cond_destroy(&s->cond);
      },
      5000);
  EXPECT_CHILD_OK(d) << " (the exit code is pthread_cond_destroy's error)";
  waiters.expect_all_woken();
}

// pthread_cond_timedwait(3p), pthread_condattr_setclock(3p): a process-shared condvar timed
// against CLOCK_MONOTONIC returns ETIMEDOUT once that clock passes the deadline.
TEST(Pthread, MonotonicCondvarTimedwaitTimesOut) {
  CONFORM_MAN("pthread_cond_timedwait(3p)");
  SharedMemory<Shared> region;
  ASSERT_TRUE(region.ok() && init_shared(region.get()) == 0);
  Shared* s = region.get();
  timespec start = clock_in(CLOCK_MONOTONIC, 0), until = clock_in(CLOCK_MONOTONIC, 30);
  ASSERT_EQ(pthread_mutex_lock(&s->mutex), 0);
  int rc = pthread_cond_timedwait(&s->cond, &s->mutex, &until);
  double waited = ms_since(start);
  EXPECT_EQ(pthread_mutex_unlock(&s->mutex), 0);
  EXPECT_EQ(rc, ETIMEDOUT);
  EXPECT_GE(waited, 29.0);
}

// pthread_condattr_setclock(3p): a CPU-time clock is not a valid condvar clock: EINVAL.
TEST(Pthread, CondattrSetclockCpuClockFailsEinval) {
  CONFORM_MAN("pthread_condattr_setclock(3p)");
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  EXPECT_EQ(pthread_condattr_setclock(&a, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
  pthread_condattr_destroy(&a);
}

}  // namespace
}  // namespace ipcb::conform
