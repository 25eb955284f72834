// Conformance of POSIX semaphore waiting and posting (sem_init(3), sem_post(3), sem_wait(3),
// sem_getvalue(3), sem_destroy(3)): values and limits, blocking and wake-up, timeouts, and
// signals. Every blocking check acts only once the waiting thread is seen asleep in the kernel.
#include <fcntl.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <future>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"
#include "suites/conformance/posix_sem_helpers.h"

namespace ipcb::conform {
namespace {

constexpr int kShortMs = 30;  // how long the timeout tests wait

// sem_init(3): a private semaphore with value 1: sem_init returns 0, sem_getvalue reads 1, and
// it works with sem_wait and sem_post.
TEST(PosixSem, InitPrivateSemaphoreWithValueOne) {
  CONFORM_MAN("sem_init(3)");
  CONFORM_ROWS("N01");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 1), 0) << std::strerror(errno);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  EXPECT_EQ(value_of(&s), 1);
  EXPECT_EQ(::sem_wait(&s), 0);
  EXPECT_EQ(value_of(&s), 0);
  EXPECT_EQ(::sem_post(&s), 0);
  EXPECT_EQ(value_of(&s), 1);
}

// sem_init(3), sem_open(3): EINVAL if the value exceeds SEM_VALUE_MAX (INT_MAX on Linux);
// SEM_VALUE_MAX itself is accepted.
TEST(PosixSem, ValueAboveSemValueMaxFailsEinval) {
  CONFORM_MAN("sem_init(3)");
  CONFORM_ROWS("N03");
  EXPECT_EQ(SEM_VALUE_MAX, INT_MAX);
  sem_t s;
  EXPECT_EQ(failed_with(::sem_init(&s, 0, SEM_VALUE_MAX + 1u)), EINVAL);
  ASSERT_EQ(::sem_init(&s, 0, SEM_VALUE_MAX), 0);
  EXPECT_EQ(value_of(&s), SEM_VALUE_MAX);
  ::sem_destroy(&s);
  std::string name = unique_name();
  sem_t* n = ::sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, SEM_VALUE_MAX + 1u);
  int err = errno;
  if (n != SEM_FAILED) {
    ::sem_close(n);
    ::sem_unlink(name.c_str());
  }
  EXPECT_EQ(n, SEM_FAILED);
  EXPECT_EQ(err, EINVAL);
}

// sem_destroy(3): destroying an initialised semaphore nobody waits on returns 0.
TEST(PosixSem, DestroyOfIdleSemaphoreReturnsZero) {
  CONFORM_MAN("sem_destroy(3)");
  CONFORM_ROWS("N17");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 2), 0);
  EXPECT_EQ(::sem_destroy(&s), 0);
  ASSERT_EQ(::sem_init(&s, 1, 0), 0);
  EXPECT_EQ(::sem_destroy(&s), 0) << "a process-shared one";
}

// sem_post(3): returns 0 and increments the value by one; a post wakes a blocked waiter, which
// takes the unit.
TEST(PosixSem, PostIncrementsByOneAndWakesWaiter) {
  CONFORM_MAN("sem_post(3)");
  CONFORM_ROWS("N18");
  Local l(0);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(::sem_post(&l.s), 0);
  EXPECT_EQ(value_of(&l.s), 1);
  EXPECT_EQ(::sem_post(&l.s), 0);
  EXPECT_EQ(value_of(&l.s), 2);
  ASSERT_EQ(::sem_trywait(&l.s), 0);
  ASSERT_EQ(::sem_trywait(&l.s), 0);
  BlockedCall waiter = waiter_on(&l.s, true);
  ASSERT_TRUE(waiter.blocked()) << "the waiter never blocked";
  EXPECT_EQ(::sem_post(&l.s), 0);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
  EXPECT_EQ(value_of(&l.s), 0) << "the waiter took the unit";
}

// sem_wait(3): with a value above zero sem_wait decrements it at once; at zero it blocks until
// a post.
TEST(PosixSem, WaitDecrementsOrBlocksUntilPost) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N21");
  Local l(2);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(::sem_wait(&l.s), 0);
  EXPECT_EQ(value_of(&l.s), 1);
  EXPECT_EQ(::sem_wait(&l.s), 0);
  EXPECT_EQ(value_of(&l.s), 0);
  BlockedCall waiter = waiter_on(&l.s);
  ASSERT_TRUE(waiter.blocked()) << "sem_wait at value 0 did not block";
  EXPECT_FALSE(waiter.returned(0));
  ASSERT_EQ(::sem_post(&l.s), 0);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
  EXPECT_EQ(value_of(&l.s), 0);
}

// sem_wait(3): sem_trywait fails EAGAIN when the value is zero and decrements it otherwise.
TEST(PosixSem, TrywaitOnZeroFailsEagain) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N22");
  Local l(1);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(::sem_trywait(&l.s), 0);
  EXPECT_EQ(value_of(&l.s), 0);
  EXPECT_EQ(failed_with(::sem_trywait(&l.s)), EAGAIN);
  EXPECT_EQ(value_of(&l.s), 0);
}

// sem_wait(3): with a unit available sem_timedwait takes it at once whatever the deadline, even
// an expired one. POSIX lets it skip checking an invalid deadline then ("need not be checked");
// glibc checks tv_nsec first: EINVAL, and the unit stays [IMPL:glibc].
TEST(PosixSem, TimedwaitWithUnitAvailableIgnoresDeadline) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N24");
  Local l(2);
  ASSERT_TRUE(l.ok());
  timespec past = clock_in(CLOCK_REALTIME, -1000);
  timespec negative = clock_in(CLOCK_REALTIME, 1000), huge = negative;
  negative.tv_nsec = -1;
  huge.tv_nsec = 1000000000;
  EXPECT_EQ(failed_with(::sem_timedwait(&l.s, &negative)), EINVAL) << "tv_nsec -1 [glibc]";
  EXPECT_EQ(failed_with(::sem_timedwait(&l.s, &huge)), EINVAL) << "tv_nsec 10^9 [glibc]";
  EXPECT_EQ(value_of(&l.s), 2);
  EXPECT_EQ(::sem_timedwait(&l.s, &past), 0);
  timespec near = clock_in(CLOCK_REALTIME, 1000);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::sem_timedwait(&l.s, &near), 0);
  EXPECT_LT(ms_since(t0), 20) << "it waited with a unit available";
  EXPECT_EQ(value_of(&l.s), 0);
  EXPECT_EQ(failed_with(::sem_timedwait(&l.s, &past)), ETIMEDOUT) << "no unit left";
}

// sem_wait(3): sem_timedwait returns 0 when another process posts before the deadline (the
// child posts once it sees this thread asleep).
TEST(PosixSem, TimedwaitSucceedsWhenOtherProcessPosts) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N25");
  SharedMemory<sem_t> shared;
  ASSERT_TRUE(shared.ok());
  sem_t* s = shared.get();
  ASSERT_EQ(::sem_init(s, 1, 0), 0);
  ChildResult r = wait_while_child_posts(s, [s](pid_t waiter) {
    if (!wait_until_blocked(waiter, 5000)) return 1;
    return ::sem_post(s) == 0 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r) << " (1: this thread never blocked)";
  EXPECT_EQ(value_of(s), 0);
}

// sem_wait(3): sem_timedwait fails ETIMEDOUT once the absolute CLOCK_REALTIME deadline passes,
// not before, and leaves the value unchanged.
TEST(PosixSem, TimedwaitTimesOutAtAbsoluteDeadline) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N26");
  Local l(0);
  ASSERT_TRUE(l.ok());
  expect_timeout_at_deadline(CLOCK_REALTIME, kShortMs, [&l](const timespec& dl) {
    return failed_with(::sem_timedwait(&l.s, &dl));
  });
  EXPECT_EQ(value_of(&l.s), 0);
}

// sem_wait(3): EINVAL if the call would block and abs_timeout.tv_nsec is below 0 or at least
// 1000 million.
TEST(PosixSem, TimedwaitInvalidNsecWhenBlockingFailsEinval) {
  CONFORM_MAN("sem_wait(3)");
  CONFORM_ROWS("N27");
  Local l(0);
  ASSERT_TRUE(l.ok());
  for (long nsec : {-1L, 1000000000L}) {
    timespec dl = clock_in(CLOCK_REALTIME, 1000);
    dl.tv_nsec = nsec;
    EXPECT_EQ(failed_with(::sem_timedwait(&l.s, &dl)), EINVAL) << "tv_nsec " << nsec;
  }
  EXPECT_EQ(value_of(&l.s), 0);
}

// sem_wait(3): sem_clockwait measures the deadline against the clock given (CLOCK_MONOTONIC).
TEST(PosixSem, ClockwaitMonotonicTimesOut) {
  CONFORM_MAN("sem_wait(3)");
  Local l(0);
  ASSERT_TRUE(l.ok());
  expect_timeout_at_deadline(CLOCK_MONOTONIC, kShortMs, [&l](const timespec& dl) {
    return failed_with(::sem_clockwait(&l.s, CLOCK_MONOTONIC, &dl));
  });
}

// sem_getvalue(3): returns the current value and leaves it as it was; while threads are blocked
// on the semaphore Linux (glibc) returns 0, not minus the number of waiters.
TEST(PosixSem, GetvalueReportsValueAndZeroWhileWaitersBlock) {
  CONFORM_MAN("sem_getvalue(3)");
  CONFORM_ROWS("N29");
  Local l(3);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(value_of(&l.s), 3);
  EXPECT_EQ(value_of(&l.s), 3) << "sem_getvalue changed the value";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::sem_trywait(&l.s), 0) << "unit " << i;
  EXPECT_EQ(value_of(&l.s), 0);
  BlockedCall a = waiter_on(&l.s, true);
  BlockedCall b = waiter_on(&l.s, true);
  ASSERT_TRUE(a.blocked() && b.blocked()) << "the waiters never blocked";
  EXPECT_EQ(value_of(&l.s), 0) << "two waiters blocked";
  ASSERT_EQ(::sem_post(&l.s), 0);
  ASSERT_EQ(::sem_post(&l.s), 0);
  ASSERT_TRUE(a.returned(5000) && b.returned(5000));
  EXPECT_EQ(a.rc(), 0);
  EXPECT_EQ(b.rc(), 0);
}

// sem_post(3): EOVERFLOW if the maximum value would be exceeded; the value stays.
TEST(PosixSem, PostAtSemValueMaxFailsEoverflow) {
  CONFORM_MAN("sem_post(3)");
  Local l(SEM_VALUE_MAX);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(failed_with(::sem_post(&l.s)), EOVERFLOW);
  EXPECT_EQ(value_of(&l.s), SEM_VALUE_MAX);
}

}  // namespace
}  // namespace ipcb::conform
