// Conformance of futex(2) FUTEX_CMP_REQUEUE: how many waiters it wakes and moves to the second
// futex, the value check, and its argument and address errors.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

#include "suites/conformance/blocked_call.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// futex(uaddr, op, val, val2, uaddr2, val3): val2 travels in the timeout argument.
long futex(void* uaddr, int op, long val, long val2 = 0, void* uaddr2 = nullptr,
           uint32_t val3 = 0) {
  return ::syscall(SYS_futex, uaddr, op, val, val2, uaddr2, val3);
}

// Two futex words; `n` threads wait (private FUTEX_WAIT, 5 s) on the first while it is 0.
struct Requeue {
  uint32_t from = 0, to = 0;
  std::vector<std::unique_ptr<BlockedCall>> waiters;
  explicit Requeue(int n) {
    for (int i = 0; i < n; ++i) {
      waiters.push_back(std::make_unique<BlockedCall>(
          [this] {
            timespec t{5, 0};
            return ::syscall(SYS_futex, &from, FUTEX_WAIT_PRIVATE, 0, &t, nullptr, 0);
          },
          [this] {  // releases every waiter, wherever it waits now
            __atomic_store_n(&from, 1, __ATOMIC_SEQ_CST);
            __atomic_store_n(&to, 1, __ATOMIC_SEQ_CST);
            futex(&from, FUTEX_WAKE_PRIVATE, INT_MAX);
            futex(&to, FUTEX_WAKE_PRIVATE, INT_MAX);
          }));
    }
  }
  ~Requeue() { waiters.clear(); }  // before the words go
  bool all_blocked() {
    for (auto& w : waiters) {
      if (!w->blocked()) return false;
    }
    return true;
  }
  // How many have returned, after waiting up to 5 s for at least `min`.
  int returned(int min) {
    timespec start = clock_in(CLOCK_MONOTONIC, 0);
    for (;;) {
      int n = 0;
      for (auto& w : waiters) n += w->returned(0) ? 1 : 0;
      if (n >= min || ms_since(start) > 5000) return n;
      ::usleep(200);
    }
  }
};

// futex(2) FUTEX_CMP_REQUEUE: wakes at most val waiters, moves at most val2 of the rest to the
// second futex, and returns the number woken plus the number moved; a wake of each futex then
// finds exactly the waiters left there.
TEST(Futex, CmpRequeueWakesAndMovesAsAsked) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X13");
  {
    SCOPED_TRACE("4 waiters: wake 1, requeue at most 2");
    Requeue q(4);
    ASSERT_TRUE(q.all_blocked()) << "the waiters never blocked";
    EXPECT_EQ(futex(&q.from, FUTEX_CMP_REQUEUE_PRIVATE, 1, 2, &q.to, 0), 3);
    EXPECT_EQ(q.returned(1), 1) << "exactly one woken";
    EXPECT_EQ(futex(&q.from, FUTEX_WAKE_PRIVATE, INT_MAX), 1) << "one left on the first";
    EXPECT_EQ(futex(&q.to, FUTEX_WAKE_PRIVATE, INT_MAX), 2) << "two moved to the second";
    EXPECT_EQ(q.returned(4), 4);
    for (auto& w : q.waiters) EXPECT_EQ(w->rc(), 0) << "a waiter timed out or failed";
  }
  {
    SCOPED_TRACE("3 waiters: wake 0, requeue at most 10");
    Requeue q(3);
    ASSERT_TRUE(q.all_blocked()) << "the waiters never blocked";
    EXPECT_EQ(futex(&q.from, FUTEX_CMP_REQUEUE_PRIVATE, 0, 10, &q.to, 0), 3);
    EXPECT_EQ(futex(&q.from, FUTEX_WAKE_PRIVATE, INT_MAX), 0) << "none left on the first";
    EXPECT_EQ(q.returned(0), 0) << "none woken by the requeue";
    EXPECT_EQ(futex(&q.to, FUTEX_WAKE_PRIVATE, 2), 2);
    EXPECT_EQ(futex(&q.to, FUTEX_WAKE_PRIVATE, INT_MAX), 1);
    EXPECT_EQ(q.returned(3), 3);
  }
}

// futex(2) FUTEX_CMP_REQUEUE: EINVAL for a negative val or val2 (CVE-2018-6927); EAGAIN when
// *uaddr is not val3, and then nobody is woken or moved.
TEST(Futex, CmpRequeueBadCountsOrValueMismatchFail) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X14");
  uint32_t a = 0, b = 0;
  EXPECT_EQ(failed_with(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, -1, 1, &b, 0)), EINVAL);
  EXPECT_EQ(failed_with(futex(&a, FUTEX_CMP_REQUEUE_PRIVATE, 1, -1, &b, 0)), EINVAL);
  EXPECT_EQ(failed_with(futex(&a, FUTEX_CMP_REQUEUE, -1, 1, &b, 0)), EINVAL) << "shared";
  Requeue q(1);
  ASSERT_TRUE(q.all_blocked()) << "the waiter never blocked";
  EXPECT_EQ(failed_with(futex(&q.from, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &q.to, 1)), EAGAIN);
  EXPECT_EQ(futex(&q.to, FUTEX_WAKE_PRIVATE, INT_MAX), 0) << "nobody was moved";
  EXPECT_EQ(futex(&q.from, FUTEX_WAKE_PRIVATE, INT_MAX), 1) << "nobody was woken";
  EXPECT_EQ(q.returned(1), 1);
}

// futex(2) FUTEX_CMP_REQUEUE: EFAULT when uaddr is unmapped or PROT_NONE (its value is read),
// and, for a shared futex, when uaddr2 is (the kernel needs its page for the key). A private
// requeue never touches uaddr2's memory (the address alone is the key): no EFAULT for it.
TEST(Futex, CmpRequeueOnBadAddressFailsEfault) {
  CONFORM_MAN("futex(2)");
  CONFORM_ROWS("X15");
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* base = ::mmap(nullptr, 3 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(base, MAP_FAILED);
  Cleanup unmap([base, page] { ::munmap(base, 3 * page); });
  void* hole = static_cast<char*>(base) + page;  // unmapped, between two reserved pages
  ASSERT_EQ(::munmap(hole, page), 0);
  InaccessiblePage none;
  ASSERT_NE(none.get(), nullptr);
  uint32_t word = 0;
  for (void* bad : {hole, none.get()}) {
    SCOPED_TRACE(bad == hole ? "unmapped" : "PROT_NONE");
    EXPECT_EQ(failed_with(futex(bad, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &word, 0)), EFAULT);
    EXPECT_EQ(failed_with(futex(bad, FUTEX_CMP_REQUEUE, 1, 1, &word, 0)), EFAULT);
    EXPECT_EQ(failed_with(futex(&word, FUTEX_CMP_REQUEUE, 1, 1, bad, 0)), EFAULT) << "uaddr2";
    EXPECT_EQ(futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, bad, 0), 0) << "private uaddr2";
  }
}

}  // namespace
}  // namespace ipcb::conform
