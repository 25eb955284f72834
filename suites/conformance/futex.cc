// Conformance of futex(2): FUTEX_WAIT/FUTEX_WAKE and their bitset forms, private and shared
// futexes across threads and processes, timeouts (relative and absolute, both clocks), signals,
// and argument errors. Faults: futex_fault.cc; requeue: futex_requeue.cc; futex_waitv:
// futex_waitv.cc.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <future>
#include <optional>
#include <string>

#include "suites/conformance/blocked_call.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// The raw system call (glibc has no wrapper); returns its result, errno set on -1.
long futex(uint32_t* uaddr, int op, uint32_t val, const timespec* timeout = nullptr,
           uint32_t val3 = 0) {
  return ::syscall(SYS_futex, uaddr, op, val, timeout, nullptr, val3);
}

// A futex word and the pids of waiting children, in MAP_SHARED memory across fork.
struct Shared {
  uint32_t word;
  pid_t waiter[4];
};

// One Shared per test, unmapped when the test ends.
using SharedRegion = SharedMemory<Shared>;

// Whether `pid` is blocked in the futex system call (/proc/<pid>/syscall); nullopt if the
// kernel does not tell.
std::optional<bool> in_futex_call(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/syscall");
  std::string first;
  if (!(f >> first)) return std::nullopt;
  return first == std::to_string(SYS_futex);
}

// Waits up to 5 s until the child that publishes its pid in `*slot` blocks in futex().
std::optional<bool> wait_blocked(const volatile pid_t* slot) {
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  while (ms_since(start) < 5000) {
    if (pid_t pid = *slot; pid != 0) {
      auto blocked = in_futex_call(pid);
      if (!blocked) return blocked;
      if (*blocked && wait_until_blocked(pid, 0)) return true;
    }
    timespec tick{0, 1000000};
    nanosleep(&tick, nullptr);
  }
  return false;
}

// A child that publishes its pid in s->waiter[i], then waits on s->word (while it is 0) with
// `op` and `bitset`; exits 0 when woken, 1 on its 5 s timeout, 2 on another error.
std::future<ChildResult> waiter(Shared* s, int i, int op = FUTEX_WAIT,
                                uint32_t bitset = FUTEX_BITSET_MATCH_ANY) {
  return std::async(std::launch::async, [=] {
    return run_in_child([=] {
      s->waiter[i] = ::getpid();
      bool absolute = (op & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET;
      timespec t = absolute ? clock_in(CLOCK_MONOTONIC, 5000) : timespec{5, 0};
      long rc = futex(&s->word, op, 0, &t, bitset);
      return rc == 0 ? 0 : errno == ETIMEDOUT ? 1 : 2;
    });
  });
}

// On scope end (also after a failed assertion) wakes every waiter still blocked on s->word, so
// no child waits out its timeout. Declare it after the waiters' futures.
Cleanup release_all(Shared* s) {
  return Cleanup([s] {
    __atomic_store_n(&s->word, 1, __ATOMIC_SEQ_CST);
    futex(&s->word, FUTEX_WAKE, INT_MAX);
  });
}

// Expects every waiter woken (exit 0).
void expect_woken(std::future<ChildResult>& w) {
  ChildResult r = w.get();
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe() << " (1: not woken, 2: error)";
}

#define ASSERT_BLOCKED(slot)                                                           \
  do {                                                                                 \
    auto blocked = wait_blocked(slot);                                                 \
    if (!blocked) CONFORM_SKIP("/proc/<pid>/syscall unavailable: cannot see waiters"); \
    ASSERT_TRUE(*blocked) << "waiter never blocked in futex()";                        \
  } while (0)

// futex(2) FUTEX_WAIT: EAGAIN at once when the word does not hold the expected value, for a
// private and a shared futex.
TEST(Futex, WaitWithDifferentValueFailsEagain) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X02");
  uint32_t word = 1;
  timespec safety{5, 0}, start = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_PRIVATE, 0, &safety)), EAGAIN);
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT, 0, &safety)), EAGAIN);
  EXPECT_LT(ms_since(start), 1000) << "it waited";
}

// futex(2) FUTEX_WAIT: on a page never touched (it reads as zeros) a wait for a nonzero value
// fails EAGAIN at once.
TEST(Futex, WaitOnUntouchedZeroPageFailsEagain) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X03");
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Cleanup unmap([p] { ::munmap(p, 4096); });
  auto* word = static_cast<uint32_t*>(p);
  timespec safety{5, 0}, start = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(failed_with(futex(word, FUTEX_WAIT_PRIVATE, 1, &safety)), EAGAIN);
  EXPECT_EQ(failed_with(futex(word + 1, FUTEX_WAIT, 1, &safety)), EAGAIN);
  EXPECT_LT(ms_since(start), 1000) << "it waited";
}

// futex(2) FUTEX_WAIT: a relative timeout that expires fails ETIMEDOUT, for a private and a
// shared futex, no earlier than the timeout and within a generous threshold (1 s) after it.
TEST(Futex, WaitTimesOutWithEtimedout) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X01 X06");
  for (int op : {FUTEX_WAIT_PRIVATE, FUTEX_WAIT}) {
    SCOPED_TRACE(op == FUTEX_WAIT ? "shared" : "private");
    uint32_t word = 0;
    timespec rel{0, 20 * 1000000L}, start = clock_in(CLOCK_MONOTONIC, 0);
    EXPECT_EQ(failed_with(futex(&word, op, 0, &rel)), ETIMEDOUT);
    EXPECT_GE(ms_since(start), 19.9);
    EXPECT_LT(ms_since(start), 1020.0);
  }
}

// futex(2): a private FUTEX_WAKE wakes a thread of the same process blocked in a private
// FUTEX_WAIT, and returns 1.
TEST(Futex, PrivateWakeWakesThread) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X05");
  uint32_t word = 0;
  auto wake = [&word] {
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX);
  };
  BlockedCall waiter(
      [&word] {
        timespec t{5, 0};
        return futex(&word, FUTEX_WAIT_PRIVATE, 0, &t);
      },
      wake);
  ASSERT_TRUE(waiter.blocked()) << "the waiter never blocked";
  EXPECT_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 1), 1);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), 0) << std::strerror(waiter.err());
}

// futex(2): a shared (non-private) futex in MAP_SHARED anonymous memory wakes waiters of other
// processes; FUTEX_WAKE returns 0 without waiters and otherwise wakes at most val of them,
// returning how many it woke (2 of 3, then the last one).
TEST(Futex, WakeReturnsNumberWokenAcrossProcesses) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X04 X10");
  SharedRegion r;
  Shared* s = r.get();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, INT_MAX), 0) << "no waiters yet";
  std::future<ChildResult> w[3] = {waiter(s, 0), waiter(s, 1), waiter(s, 2)};
  Cleanup release = release_all(s);
  for (int i = 0; i < 3; ++i) ASSERT_BLOCKED(&s->waiter[i]);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, 2), 2);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, INT_MAX), 1) << "exactly one was left waiting";
  for (auto& f : w) expect_woken(f);
}

// futex(2) FUTEX_PRIVATE_FLAG: a private futex is not shared with another process, so a
// private wake does not reach a shared waiter in another process.
TEST(Futex, PrivateWakeDoesNotReachOtherProcess) {
  CONFORM_MAN("futex(2)");
  SharedRegion r;
  Shared* s = r.get();
  ASSERT_NE(s, nullptr);
  auto w = waiter(s, 0);
  Cleanup release = release_all(s);
  ASSERT_BLOCKED(&s->waiter[0]);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE_PRIVATE, INT_MAX), 0);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, INT_MAX), 1);
  expect_woken(w);
}

// futex(2) FUTEX_WAKE_BITSET: wakes only waiters whose FUTEX_WAIT_BITSET mask shares a bit.
TEST(Futex, WakeBitsetWakesOnlyMatchingWaiters) {
  CONFORM_MAN("futex(2)");
  SharedRegion r;
  Shared* s = r.get();
  ASSERT_NE(s, nullptr);
  auto w = waiter(s, 0, FUTEX_WAIT_BITSET, 0x1);
  Cleanup release = release_all(s);
  ASSERT_BLOCKED(&s->waiter[0]);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE_BITSET, INT_MAX, nullptr, 0x2), 0);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE_BITSET, INT_MAX, nullptr, 0x3), 1);
  expect_woken(w);
}

// Exit code of a child that waits (FUTEX_WAIT_BITSET | `flags`) until `clock` now + 20 ms:
// 0 if it timed out with ETIMEDOUT no earlier than that and within 1 s after, kSkipCode on
// ENOSYS, else errno or 200 (returned early), 201 (woken), 202 (late). A relative reading of the
// absolute deadline would wait for hours: the child is killed.
ChildResult wait_bitset_until(clockid_t clock, int flags) {
  return run_in_child(
      [=] {
        uint32_t word = 0;
        timespec start = clock_in(CLOCK_MONOTONIC, 0), until = clock_in(clock, 20);
        if (futex(&word, FUTEX_WAIT_BITSET_PRIVATE | flags, 0, &until, ~0u) == 0) return 201;
        if (errno == ENOSYS) return kSkipCode;
        if (errno != ETIMEDOUT) return errno;
        double waited = ms_since(start);
        return waited < 19.9 ? 200 : waited > 1020 ? 202 : 0;
      },
      3000);
}

// futex(2) FUTEX_WAIT_BITSET: the timeout is absolute, against CLOCK_MONOTONIC by default and
// against CLOCK_REALTIME with FUTEX_CLOCK_REALTIME; it expires with ETIMEDOUT on time.
TEST(Futex, WaitBitsetTimesOutAtAbsoluteDeadlineOnEitherClock) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X09");
  ChildResult mono = wait_bitset_until(CLOCK_MONOTONIC, 0);
  ChildResult real = wait_bitset_until(CLOCK_REALTIME, FUTEX_CLOCK_REALTIME);
  SKIP_IF_CHILD_SKIPPED(mono, "FUTEX_WAIT_BITSET is not supported (ENOSYS)");
  SKIP_IF_CHILD_SKIPPED(real, "FUTEX_CLOCK_REALTIME is not supported (ENOSYS)");
  EXPECT_CHILD_OK(mono) << " CLOCK_MONOTONIC (200: early, 201: woken, 202: late)";
  EXPECT_CHILD_OK(real) << " CLOCK_REALTIME (200: early, 201: woken, 202: late)";
}

// futex(2): EINVAL for FUTEX_WAIT_BITSET with a zero bit mask.
TEST(Futex, WaitBitsetZeroMaskFailsEinval) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, 0)), EINVAL);
}

// futex(2): a FUTEX_WAIT interrupted by a signal handler fails with EINTR (the signal is sent
// once the waiter is seen asleep).
TEST(Futex, WaitInterruptedBySignalFailsEintr) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X08");
  uint32_t word = 0;
  InterruptingSignal sig(SIGUSR1);
  BlockedCall waiter(
      [&word] {
        timespec safety{5, 0};
        return futex(&word, FUTEX_WAIT_PRIVATE, 0, &safety);
      },
      [&word] {
        __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
        futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX);
      });
  ASSERT_TRUE(waiter.blocked()) << "the waiter never blocked";
  ASSERT_EQ(waiter.signal(SIGUSR1), 0);
  ASSERT_TRUE(waiter.returned(5000));
  EXPECT_EQ(waiter.rc(), -1);
  EXPECT_EQ(waiter.err(), EINTR);
}

// futex(2): EINVAL when uaddr is not aligned on a four-byte boundary.
TEST(Futex, UnalignedAddressFailsEinval) {
  CONFORM_MAN("futex(2)");
  alignas(8) uint32_t words[2] = {0, 0};
  auto* odd = reinterpret_cast<uint32_t*>(reinterpret_cast<char*>(words) + 1);
  EXPECT_EQ(failed_with(futex(odd, FUTEX_WAKE_PRIVATE, 1)), EINVAL);
}

// futex(2): EINVAL for a timeout whose tv_nsec is not below 1,000,000,000.
TEST(Futex, InvalidTimeoutFailsEinval) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  timespec bad{0, 1000000000L};
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad)), EINVAL);
}

// futex(2): ENOSYS for an invalid operation in futex_op.
TEST(Futex, UnknownOperationFailsEnosys) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  EXPECT_EQ(failed_with(futex(&word, 99, 0)), ENOSYS);
}

// futex(2): ENOSYS for FUTEX_CLOCK_REALTIME with an operation other than the waits.
TEST(Futex, ClockRealtimeWithWakeFailsEnosys) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1)), ENOSYS);
}

}  // namespace
}  // namespace ipcb::conform
