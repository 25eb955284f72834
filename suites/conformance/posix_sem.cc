// Conformance of POSIX semaphores (sem_overview(7), sem_open(3), sem_init(3), sem_post(3),
// sem_wait(3), sem_unlink(3)): names, value limits, blocking, timeouts, signals and lifetime.
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kShortMs = 30;  // how long the timeout tests wait

// A named semaphore the test created; closed and unlinked on every path.
struct Named {
  std::string name = unique_name();
  sem_t* s = SEM_FAILED;
  Cleanup guard{[this] {
    if (s != SEM_FAILED) ::sem_close(s);
    ::sem_unlink(name.c_str());
  }};
  bool create(unsigned value, mode_t mode = 0600) {
    s = ::sem_open(name.c_str(), O_CREAT | O_EXCL, mode, value);
    return s != SEM_FAILED;
  }
};

// An unnamed semaphore in a MAP_SHARED anonymous page, so forked children share it.
struct Unnamed {
  sem_t* s = static_cast<sem_t*>(
      ::mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  Cleanup guard{[this] {
    if (s != MAP_FAILED) ::munmap(s, sizeof(sem_t));
  }};
  bool init(unsigned value) { return s != MAP_FAILED && ::sem_init(s, 1, value) == 0; }
};

// errno of a failed sem_open, or 0 if it succeeded (a created semaphore is then removed).
int open_errno(const std::string& name, int oflag, unsigned value = 0) {
  sem_t* s = ::sem_open(name.c_str(), oflag, 0600, value);
  if (s == SEM_FAILED) return errno;
  ::sem_close(s);
  if (oflag & O_CREAT) ::sem_unlink(name.c_str());
  return 0;
}

int value_of(sem_t* s) {
  int v = -1;
  return ::sem_getvalue(s, &v) == 0 ? v : -1;
}

// sem_open(3): EEXIST with O_CREAT | O_EXCL when the semaphore exists.
TEST(PosixSem, ExclusiveCreateOfExistingFailsEexist) {
  CONFORM_MAN("sem_open(3)");
  Named n;
  ASSERT_TRUE(n.create(0)) << std::strerror(errno);
  EXPECT_EQ(open_errno(n.name, O_CREAT | O_EXCL), EEXIST);
}

// sem_open(3): ENOENT without O_CREAT for a missing name; sem_unlink(3): ENOENT likewise.
TEST(PosixSem, OpenOrUnlinkOfMissingSemaphoreFailsEnoent) {
  CONFORM_MAN("sem_open(3)");
  std::string name = unique_name();
  EXPECT_EQ(open_errno(name, 0), ENOENT);
  EXPECT_EQ(::sem_unlink(name.c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

// sem_open(3): EINVAL if name consists of just "/".
TEST(PosixSem, NameJustSlashFailsEinval) {
  CONFORM_MAN("sem_open(3)");
  EXPECT_EQ(open_errno("/", O_CREAT), EINVAL);
}

// sem_overview(7): a name has up to NAME_MAX-4 (251) characters after the slash;
// sem_open(3): ENAMETOOLONG for a longer one.
TEST(PosixSem, NameExactlyAtAndOnePastNameMaxMinusFour) {
  CONFORM_MAN("sem_overview(7)");
  std::string at = unique_name();
  at.resize(1 + NAME_MAX - 4, 's');
  EXPECT_EQ(open_errno(at, O_CREAT | O_EXCL), 0) << "a name of exactly NAME_MAX-4 characters";
  EXPECT_EQ(open_errno(at + "s", O_CREAT | O_EXCL), ENAMETOOLONG);
}

// sem_open(3): EINVAL if value was greater than SEM_VALUE_MAX.
TEST(PosixSem, OpenWithValueAboveSemValueMaxFailsEinval) {
  CONFORM_MAN("sem_open(3)");
  EXPECT_EQ(open_errno(unique_name(), O_CREAT | O_EXCL, SEM_VALUE_MAX + 1u), EINVAL);
}

// sem_init(3): EINVAL if value exceeds SEM_VALUE_MAX; SEM_VALUE_MAX itself is accepted.
TEST(PosixSem, InitWithValueAboveSemValueMaxFailsEinval) {
  CONFORM_MAN("sem_init(3)");
  sem_t s;
  EXPECT_EQ(::sem_init(&s, 0, SEM_VALUE_MAX + 1u), -1);
  EXPECT_EQ(errno, EINVAL);
  ASSERT_EQ(::sem_init(&s, 0, SEM_VALUE_MAX), 0);
  ::sem_destroy(&s);
}

// sem_post(3): EOVERFLOW if the maximum value would be exceeded; the value stays.
TEST(PosixSem, PostAtSemValueMaxFailsEoverflow) {
  CONFORM_MAN("sem_post(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, SEM_VALUE_MAX), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  EXPECT_EQ(::sem_post(&s), -1);
  EXPECT_EQ(errno, EOVERFLOW);
  EXPECT_EQ(value_of(&s), SEM_VALUE_MAX);
}

// sem_wait(3): sem_trywait fails EAGAIN when the value is zero and decrements it otherwise.
TEST(PosixSem, TrywaitOnZeroFailsEagain) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 1), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  EXPECT_EQ(::sem_trywait(&s), 0);
  EXPECT_EQ(::sem_trywait(&s), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(value_of(&s), 0);
}

// sem_wait(3): sem_timedwait fails ETIMEDOUT once the absolute CLOCK_REALTIME deadline passes.
TEST(PosixSem, TimedwaitTimesOutAtAbsoluteDeadline) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  timespec dl = clock_in(CLOCK_REALTIME, kShortMs);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::sem_timedwait(&s, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
  EXPECT_LT(ms_since(t0), 2000);
}

// sem_wait(3): with the deadline already expired and no unit available, ETIMEDOUT at once; with
// a unit available sem_timedwait succeeds whatever the deadline.
TEST(PosixSem, TimedwaitWithPastDeadline) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  timespec past = clock_in(CLOCK_REALTIME, -1000);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::sem_timedwait(&s, &past), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_LT(ms_since(t0), 20);
  ASSERT_EQ(::sem_post(&s), 0);
  EXPECT_EQ(::sem_timedwait(&s, &past), 0);
}

// sem_wait(3): EINVAL if the call would block and abs_timeout.tv_nsec >= 1000 million.
TEST(PosixSem, TimedwaitInvalidNsecWhenBlockingFailsEinval) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  timespec dl = clock_in(CLOCK_REALTIME, 1000);
  dl.tv_nsec = 1000000000;
  EXPECT_EQ(::sem_timedwait(&s, &dl), -1);
  EXPECT_EQ(errno, EINVAL);
}

// sem_wait(3): sem_clockwait measures the deadline against the clock given (CLOCK_MONOTONIC).
TEST(PosixSem, ClockwaitMonotonicTimesOut) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  timespec dl = clock_in(CLOCK_MONOTONIC, kShortMs);
  timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(::sem_clockwait(&s, CLOCK_MONOTONIC, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
  EXPECT_LT(ms_since(t0), 2000);
}

// sem_wait(3): EINTR if a signal handler (installed without SA_RESTART) interrupts the call.
TEST(PosixSem, WaitInterruptedBySignalFailsEintr) {
  CONFORM_MAN("sem_wait(3)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  EXPECT_EQ(::sem_wait(&s), -1);
  EXPECT_EQ(errno, EINTR);
}

// signal(7): since Linux 2.6.22 sem_wait is restarted after a handler installed with SA_RESTART.
TEST(PosixSem, WaitRestartedWithSaRestart) {
  CONFORM_MAN("signal(7)");
  sem_t s;
  ASSERT_EQ(::sem_init(&s, 0, 0), 0);
  Cleanup destroy([&] { ::sem_destroy(&s); });
  InterruptingSignal sig(SIGUSR1, /*restart=*/true);
  sig.send_after(20, [&s] { ::sem_post(&s); });  // the post comes 20 ms after the signal
  int rc = ::sem_wait(&s);
  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

// sem_overview(7): named semaphores have kernel persistence: one outlives its creator.
TEST(PosixSem, NamedSemaphoreOutlivesCreator) {
  CONFORM_MAN("sem_overview(7)");
  Named n;  // owns the name; the child creates it
  std::string name = n.name;
  auto r = run_in_child([&name] {
    sem_t* s = ::sem_open(name.c_str(), O_CREAT | O_EXCL, 0600, 3);
    return s == SEM_FAILED ? 1 : 0;  // exits without sem_close or sem_unlink
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  n.s = ::sem_open(name.c_str(), 0);
  ASSERT_NE(n.s, SEM_FAILED) << std::strerror(errno);
  EXPECT_EQ(value_of(n.s), 3);
}

// sem_unlink(3): the name goes at once; the semaphore lives until every process has closed it,
// and a new O_CREAT makes a distinct one with its own value.
TEST(PosixSem, UnlinkWhileOpenKeepsSemaphore) {
  CONFORM_MAN("sem_unlink(3)");
  Named n;
  ASSERT_TRUE(n.create(2)) << std::strerror(errno);
  ASSERT_EQ(::sem_unlink(n.name.c_str()), 0);
  EXPECT_EQ(open_errno(n.name, 0), ENOENT);
  Named fresh;
  fresh.name = n.name;
  ASSERT_TRUE(fresh.create(7)) << std::strerror(errno);
  EXPECT_EQ(::sem_trywait(n.s), 0) << "the unlinked semaphore still works";
  EXPECT_EQ(value_of(n.s), 1);
  EXPECT_EQ(value_of(fresh.s), 7);
}

// sem_open(3): with O_CREAT and an existing name, mode and value are ignored.
TEST(PosixSem, CreateOfExistingIgnoresValue) {
  CONFORM_MAN("sem_open(3)");
  Named n;
  ASSERT_TRUE(n.create(2)) << std::strerror(errno);
  sem_t* again = ::sem_open(n.name.c_str(), O_CREAT, 0600, 9);
  ASSERT_NE(again, SEM_FAILED) << std::strerror(errno);
  EXPECT_EQ(value_of(again), 2);
  ::sem_close(again);
}

// sem_open(3): EACCES if the semaphore exists but the caller lacks permission to open it.
TEST(PosixSem, ModeBitsEnforcedEacces) {
  CONFORM_MAN("sem_open(3)");
  Named n;
  // As root another user is denied a 0600 semaphore; otherwise the owner is denied 0400.
  ASSERT_TRUE(n.create(0, is_root() ? 0600 : 0400)) << std::strerror(errno);
  std::string name = n.name;
  auto r = run_in_child([&name] {
    if (is_root() && !drop_to_nobody()) return 1;
    return open_errno(name, 0) == EACCES ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
}

// sem_overview(7), sem_init(3): a process-shared semaphore in shared memory synchronises
// processes: a post in the parent wakes a child blocked in sem_wait.
TEST(PosixSem, ProcessSharedSemaphoreWorksAcrossFork) {
  CONFORM_MAN("sem_init(3)");
  Unnamed u;
  ASSERT_TRUE(u.init(0)) << std::strerror(errno);
  Cleanup destroy([&] { ::sem_destroy(u.s); });
  sem_t* s = u.s;
  std::thread poster([s] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::sem_post(s);
    ::sem_post(s);
  });
  auto r = run_in_child([s] { return ::sem_wait(s) == 0 ? 0 : 1; }, 2000);
  poster.join();
  EXPECT_CHILD_OK(r);
  EXPECT_EQ(value_of(s), 1) << "one post consumed by the child, one left";
}

// sem_overview(7): a named semaphore opened by two processes is the same semaphore.
TEST(PosixSem, NamedSemaphoreSharedBetweenProcesses) {
  CONFORM_MAN("sem_overview(7)");
  Named n;
  ASSERT_TRUE(n.create(0)) << std::strerror(errno);
  std::string name = n.name;
  auto r = run_in_child([&name] {
    sem_t* s = ::sem_open(name.c_str(), 0);
    if (s == SEM_FAILED) return 1;
    return ::sem_post(s) == 0 && ::sem_post(s) == 0 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
  EXPECT_EQ(value_of(n.s), 2);
}

}  // namespace
}  // namespace ipcb::conform
