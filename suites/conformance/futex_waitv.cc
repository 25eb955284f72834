// Conformance of futex_waitv(2) (Linux 5.16): waiting on several futexes at once: its argument
// checks, the value check, the deadline, and wake-ups of private and shared futexes.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <future>
#include <vector>

#include "suites/conformance/blocked_call.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

long waitv(futex_waitv* w, unsigned n, unsigned flags, const timespec* until, clockid_t clock) {
  return ::syscall(SYS_futex_waitv, w, n, flags, until, clock);
}

long futex_wake(uint32_t* uaddr, int op, int n) {
  return ::syscall(SYS_futex, uaddr, op, n, nullptr, nullptr, 0);
}

// One waiter for `word` expecting `val`, with `flags` (FUTEX_32 unless told otherwise).
futex_waitv entry(uint32_t* word, uint32_t val = 0, uint32_t flags = FUTEX_32) {
  futex_waitv w{};
  w.uaddr = reinterpret_cast<uintptr_t>(word);
  w.val = val;
  w.flags = flags;
  return w;
}

// True if this kernel has futex_waitv (ENOSYS before 5.16).
bool have_waitv() {
  return waitv(nullptr, 0, 0, nullptr, 0) == 0 || errno != ENOSYS;
}

#define REQUIRE_WAITV() \
  if (!have_waitv()) CONFORM_SKIP("futex_waitv(2) is missing (ENOSYS): it needs Linux 5.16")

// futex_waitv(2): EINVAL for a waiter without FUTEX_32 in its flags or with an unknown flag, an
// unaligned uaddr, a NULL waiters array, a nonzero flags argument, a clock other than
// CLOCK_MONOTONIC/CLOCK_REALTIME (CLOCK_TAI), and nr_futexes 0 or above 128 (128 works).
TEST(Futex, WaitvArgumentErrorsFailEinval) {
  CONFORM_MAN("futex_waitv(2)");
  CONFORM_ROWS("X16");
  REQUIRE_WAITV();
  alignas(8) uint32_t words[2] = {0, 0};
  timespec past = clock_in(CLOCK_MONOTONIC, -1000);
  auto err = [&](futex_waitv w, unsigned flags = 0, clockid_t clock = CLOCK_MONOTONIC) {
    return failed_with(waitv(&w, 1, flags, &past, clock));
  };
  EXPECT_EQ(err(entry(words, 0, 0)), EINVAL) << "no FUTEX_32";
  EXPECT_EQ(err(entry(words, 0, FUTEX_32 | 0x1000)), EINVAL) << "unknown waiter flag";
  auto* odd = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(words) + 1);
  EXPECT_EQ(err(entry(odd)), EINVAL) << "unaligned uaddr";
  EXPECT_EQ(failed_with(waitv(nullptr, 1, 0, &past, CLOCK_MONOTONIC)), EINVAL) << "NULL waiters";
  EXPECT_EQ(err(entry(words), 1), EINVAL) << "flags argument 1";
  EXPECT_EQ(err(entry(words), 0, CLOCK_TAI), EINVAL) << "CLOCK_TAI";
  std::vector<futex_waitv> many(129, entry(words));
  EXPECT_EQ(failed_with(waitv(many.data(), 0, 0, &past, CLOCK_MONOTONIC)), EINVAL) << "nr 0";
  EXPECT_EQ(failed_with(waitv(many.data(), 129, 0, &past, CLOCK_MONOTONIC)), EINVAL) << "nr 129";
  EXPECT_EQ(failed_with(waitv(many.data(), 128, 0, &past, CLOCK_MONOTONIC)), ETIMEDOUT)
      << "nr 128 is allowed";
  EXPECT_EQ(err(entry(words)), ETIMEDOUT) << "the same call, valid";
}

// futex_waitv(2): EFAULT for a NULL uaddr; EAGAIN at once when a word does not hold its
// expected value; ETIMEDOUT once the absolute deadline passes (on either clock), not before.
TEST(Futex, WaitvFaultMismatchAndDeadline) {
  CONFORM_MAN("futex_waitv(2)");
  CONFORM_ROWS("X17");
  REQUIRE_WAITV();
  alignas(8) uint32_t words[2] = {0, 5};
  timespec later = clock_in(CLOCK_MONOTONIC, 5000);
  futex_waitv null_addr[2] = {entry(words), entry(nullptr)};
  EXPECT_EQ(failed_with(waitv(null_addr, 2, 0, &later, CLOCK_MONOTONIC)), EFAULT);
  futex_waitv mismatch[2] = {entry(words, 0), entry(words + 1, 4)};
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(failed_with(waitv(mismatch, 2, 0, &later, CLOCK_MONOTONIC)), EAGAIN);
  EXPECT_LT(ms_since(start), 1000) << "it waited";
  for (clockid_t clock : {CLOCK_MONOTONIC, CLOCK_REALTIME}) {
    SCOPED_TRACE(clock == CLOCK_MONOTONIC ? "CLOCK_MONOTONIC" : "CLOCK_REALTIME");
    futex_waitv both[2] = {entry(words, 0), entry(words + 1, 5)};
    timespec until = clock_in(clock, 20);
    start = clock_in(CLOCK_MONOTONIC, 0);
    EXPECT_EQ(failed_with(waitv(both, 2, 0, &until, clock)), ETIMEDOUT);
    EXPECT_GE(ms_since(start), 19.9);
    EXPECT_LT(ms_since(start), 1020.0);
  }
}

// Words a waiter child waits on (shared futexes in MAP_SHARED memory), and its pid.
struct SharedWords {
  uint32_t word[2];
  pid_t pid;
};

// futex_waitv(2): a waiter on two futexes returns the index of the one woken: a private
// FUTEX_WAKE of a thread's private futexes, and a shared FUTEX_WAKE from another process of a
// child's shared futexes in MAP_SHARED memory.
TEST(Futex, WaitvReturnsIndexOfWokenFutex) {
  CONFORM_MAN("futex_waitv(2)");
  CONFORM_ROWS("X18");
  REQUIRE_WAITV();
  alignas(8) uint32_t priv[2] = {0, 0};
  auto release = [&priv] {
    for (uint32_t& w : priv) {
      __atomic_store_n(&w, 1, __ATOMIC_SEQ_CST);
      futex_wake(&w, FUTEX_WAKE_PRIVATE, INT_MAX);
    }
  };
  {
    BlockedCall waiter(
        [&priv] {
          uint32_t f = FUTEX_32 | FUTEX_PRIVATE_FLAG;
          futex_waitv w[2] = {entry(&priv[0], 0, f), entry(&priv[1], 0, f)};
          timespec until = clock_in(CLOCK_MONOTONIC, 5000);
          return waitv(w, 2, 0, &until, CLOCK_MONOTONIC);
        },
        release);
    ASSERT_TRUE(waiter.blocked()) << "the private waiter never blocked";
    EXPECT_EQ(futex_wake(&priv[1], FUTEX_WAKE_PRIVATE, 1), 1);
    ASSERT_TRUE(waiter.returned(5000));
    EXPECT_EQ(waiter.rc(), 1) << std::strerror(waiter.err());
  }
  SharedMemory<SharedWords> shared;
  ASSERT_TRUE(shared.ok());
  SharedWords* s = shared.get();
  auto child = std::async(std::launch::async, [s] {
    return run_in_child([s] {
      futex_waitv w[2] = {entry(&s->word[0]), entry(&s->word[1])};
      timespec until = clock_in(CLOCK_REALTIME, 5000);
      __atomic_store_n(&s->pid, ::getpid(), __ATOMIC_SEQ_CST);
      long rc = waitv(w, 2, 0, &until, CLOCK_REALTIME);
      return rc >= 0 ? static_cast<int>(rc) : 100 + errno;
    });
  });
  Cleanup wake_all([s] {
    for (uint32_t& w : s->word) {
      __atomic_store_n(&w, 1, __ATOMIC_SEQ_CST);
      futex_wake(&w, FUTEX_WAKE, INT_MAX);
    }
  });
  pid_t pid = 0;
  for (int i = 0; i < 5000 && (pid = __atomic_load_n(&s->pid, __ATOMIC_SEQ_CST)) == 0; ++i) {
    ::usleep(1000);
  }
  ASSERT_TRUE(pid != 0 && wait_until_blocked(pid, 5000)) << "the shared waiter never blocked";
  EXPECT_EQ(futex_wake(&s->word[0], FUTEX_WAKE, 1), 1);
  ChildResult r = child.get();
  EXPECT_EQ(r.describe(), exited_with(0)) << "(the exit code is the index; 100+: the errno)";
}

}  // namespace
}  // namespace ipcb::conform
