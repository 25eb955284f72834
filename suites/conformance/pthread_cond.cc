// Conformance of process-shared condition variables in MAP_SHARED memory
// (pthread_cond_wait(3p), pthread_cond_timedwait(3p), pthread_cond_signal(3p),
// pthread_cond_broadcast(3p), pthread_cond_destroy(3p), pthread_condattr_setclock(3p)): waiters
// in other processes, the mutex held on every return, timeouts on both clocks, destruction.
#include <pthread.h>
#include <time.h>

#include <cerrno>
#include <future>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

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

int load(const int* p) {
  return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
void store(int* p, int v) {
  __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
// Waits up to 5 s until `*p` reads `v`.
bool await(const int* p, int v) {
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  while (load(p) != v) {
    if (ms_since(start) > 5000) return false;
    timespec tick{0, 200000};
    nanosleep(&tick, nullptr);
  }
  return true;
}

int init_mutex(pthread_mutex_t* m, int type = PTHREAD_MUTEX_NORMAL) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  int rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_mutexattr_settype(&a, type);
  if (rc == 0) rc = pthread_mutex_init(m, &a);
  pthread_mutexattr_destroy(&a);
  return rc;
}

// A process-shared condition variable timed against `clock`.
int init_cond(pthread_cond_t* c, clockid_t clock = CLOCK_MONOTONIC) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  int rc = pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  if (rc == 0) rc = pthread_condattr_setclock(&a, clock);
  if (rc == 0) rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return rc;
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
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  for (;;) {
    pthread_mutex_lock(&s->mutex);
    if (s->waiting == 1) break;
    pthread_mutex_unlock(&s->mutex);
    if (ms_since(start) > 5000) return false;
    timespec tick{0, 200000};
    nanosleep(&tick, nullptr);
  }
  s->tokens = 1;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
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
      ASSERT_TRUE(region.ok());
      Shared* s = region.get();
      ASSERT_EQ(init_mutex(&s->mutex, type), 0);
      ASSERT_EQ(init_cond(&s->cond, clock), 0);
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

// Starts `n` token-taking children; returns once all of them wait (false after 5 s).
bool start_waiters(Shared* s, int n, std::vector<std::future<ChildResult>>* out) {
  for (int i = 0; i < n; ++i) {
    out->push_back(std::async(std::launch::async,
                              [s] { return run_in_child([s] { return take_token(s); }); }));
  }
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  for (;;) {
    pthread_mutex_lock(&s->mutex);
    int waiting = s->waiting;
    pthread_mutex_unlock(&s->mutex);  // they are inside pthread_cond_timedwait
    if (waiting == n) return true;
    if (ms_since(start) > 5000) return false;
    timespec tick{0, 200000};
    nanosleep(&tick, nullptr);
  }
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

// pthread_cond_signal(3p): one signal wakes at least one of the waiters in other processes;
// pthread_cond_broadcast(3p): one broadcast wakes all the others.
TEST(Pthread, CondSignalWakesOneAndBroadcastWakesAllProcesses) {
  CONFORM_MAN("pthread_cond_broadcast(3p)");
  CONFORM_ROWS("T06");
  SharedMemory<Shared> region;
  ASSERT_TRUE(region.ok());
  Shared* s = region.get();
  ASSERT_EQ(init_mutex(&s->mutex), 0);
  ASSERT_EQ(init_cond(&s->cond), 0);
  std::vector<std::future<ChildResult>> waiters;
  Cleanup release([s] { wake(s, 3, true); });  // no child waits out its 5 s after a failure
  ASSERT_TRUE(start_waiters(s, 3, &waiters)) << "the children never waited";
  wake(s, 1, false);
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  int woken = 0;
  while (woken == 0 && ms_since(start) < 5000) {
    pthread_mutex_lock(&s->mutex);
    woken = s->woken;
    pthread_mutex_unlock(&s->mutex);
    timespec tick{0, 200000};
    nanosleep(&tick, nullptr);
  }
  EXPECT_EQ(woken, 1) << "one signal, one token: exactly one taker";
  wake(s, 2, true);
  release.dismiss();
  for (auto& w : waiters) {
    ChildResult r = w.get();
    EXPECT_CHILD_OK(r) << " (1: never woken)";
  }
  EXPECT_EQ(s->woken, 3);
}

// pthread_cond_destroy(3p): destroying a process-shared condvar right after a broadcast (no
// thread is blocked on it any more) is safe: it returns 0 without hanging, and every waiter
// returns. The broadcaster is a child, so a hang is a timeout, not a hung run.
TEST(Pthread, CondDestroyRightAfterBroadcastIsSafe) {
  CONFORM_MAN("pthread_cond_destroy(3p)");
  CONFORM_ROWS("T07");
  SharedMemory<Shared> region;
  ASSERT_TRUE(region.ok());
  Shared* s = region.get();
  ASSERT_EQ(init_mutex(&s->mutex), 0);
  ASSERT_EQ(init_cond(&s->cond), 0);
  std::vector<std::future<ChildResult>> waiters;
  Cleanup release([s] { wake(s, 2, true); });  // only if they never all waited
  ASSERT_TRUE(start_waiters(s, 2, &waiters)) << "the children never waited";
  release.dismiss();
  ChildResult d = run_in_child(
      [s] {
        wake(s, 2, true);
        return pthread_cond_destroy(&s->cond);
      },
      5000);
  EXPECT_CHILD_OK(d) << " (the exit code is pthread_cond_destroy's error)";
  for (auto& w : waiters) {
    ChildResult r = w.get();
    EXPECT_CHILD_OK(r) << " (1: never woken)";
  }
}

// pthread_cond_timedwait(3p), pthread_condattr_setclock(3p): a process-shared condvar timed
// against CLOCK_MONOTONIC returns ETIMEDOUT once that clock passes the deadline.
TEST(Pthread, MonotonicCondvarTimedwaitTimesOut) {
  CONFORM_MAN("pthread_cond_timedwait(3p)");
  SharedMemory<Shared> region;
  ASSERT_TRUE(region.ok());
  Shared* s = region.get();
  ASSERT_EQ(init_mutex(&s->mutex), 0);
  ASSERT_EQ(init_cond(&s->cond), 0);
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
