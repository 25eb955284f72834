// Conformance of futex(2): FUTEX_WAIT/FUTEX_WAKE and their bitset forms, private and shared
// futexes across processes, timeouts (relative and absolute, both clocks), signals, errors.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <future>
#include <optional>
#include <string>

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
      if (!blocked || *blocked) return blocked;
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

// futex(2) FUTEX_WAIT: EAGAIN when the word does not hold the expected value.
TEST(Futex, WaitWithDifferentValueFailsEagain) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 1;
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_PRIVATE, 0)), EAGAIN);
}

// futex(2) FUTEX_WAIT: a relative timeout that expires fails with ETIMEDOUT, not earlier.
TEST(Futex, WaitTimesOutWithEtimedout) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  timespec rel{0, 20 * 1000000L}, start = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel)), ETIMEDOUT);
  EXPECT_GE(ms_since(start), 19.0);
}

// futex(2) FUTEX_WAKE: returns the number of waiters woken: 0 without waiters.
TEST(Futex, WakeWithoutWaitersReturnsZero) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  EXPECT_EQ(futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX), 0);
}

// futex(2): a shared (non-private) futex in MAP_SHARED memory wakes waiters of other
// processes; FUTEX_WAKE wakes at most val of them and returns how many it woke.
TEST(Futex, WakeReturnsNumberWokenAcrossProcesses) {
  CONFORM_MAN("futex(2)");
  SharedRegion r;
  Shared* s = r.get();
  ASSERT_NE(s, nullptr);
  std::future<ChildResult> w[3] = {waiter(s, 0), waiter(s, 1), waiter(s, 2)};
  Cleanup release = release_all(s);
  for (int i = 0; i < 3; ++i) ASSERT_BLOCKED(&s->waiter[i]);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, 2), 2);
  EXPECT_EQ(futex(&s->word, FUTEX_WAKE, INT_MAX), 1);
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
// 0 if it timed out with ETIMEDOUT no earlier than that, else errno or 200 (returned early).
// A relative reading of the absolute deadline would wait for hours: the child is killed.
ChildResult wait_bitset_until(clockid_t clock, int flags) {
  return run_in_child(
      [=] {
        uint32_t word = 0;
        timespec start = clock_in(CLOCK_MONOTONIC, 0), until = clock_in(clock, 20);
        if (futex(&word, FUTEX_WAIT_BITSET_PRIVATE | flags, 0, &until, ~0u) == 0) return 201;
        if (errno != ETIMEDOUT) return errno;
        return ms_since(start) < 19 ? 200 : 0;
      },
      2000);
}

// futex(2) FUTEX_WAIT_BITSET: the timeout is absolute, against CLOCK_MONOTONIC by default.
TEST(Futex, WaitBitsetTimesOutAtAbsoluteMonotonicDeadline) {
  CONFORM_MAN("futex(2)");
  ChildResult r = wait_bitset_until(CLOCK_MONOTONIC, 0);
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe() << " (200: early, 201: woken)";
}

// futex(2) FUTEX_CLOCK_REALTIME: the absolute timeout is measured against CLOCK_REALTIME.
TEST(Futex, WaitBitsetClockRealtimeTimesOutAtRealtimeDeadline) {
  CONFORM_MAN("futex(2)");
  ChildResult r = wait_bitset_until(CLOCK_REALTIME, FUTEX_CLOCK_REALTIME);
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe() << " (200: early, 201: woken)";
}

// futex(2): EINVAL for FUTEX_WAIT_BITSET with a zero bit mask.
TEST(Futex, WaitBitsetZeroMaskFailsEinval) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, nullptr, 0)), EINVAL);
}

// futex(2): a FUTEX_WAIT interrupted by a signal fails with EINTR.
TEST(Futex, WaitInterruptedBySignalFailsEintr) {
  CONFORM_MAN("futex(2)");
  uint32_t word = 0;
  timespec safety{5, 0};
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  EXPECT_EQ(failed_with(futex(&word, FUTEX_WAIT_PRIVATE, 0, &safety)), EINTR);
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

// futex(2): EFAULT when uaddr does not point to a valid (readable) user-space address.
TEST(Futex, InaccessibleAddressFailsEfault) {
  CONFORM_MAN("futex(2)");
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(futex(static_cast<uint32_t*>(page.get()), FUTEX_WAIT_PRIVATE, 0)), EFAULT);
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
