// Does semop(2)/semtimedop(2) on a System V semaphore set behave as documented here:
// would-block, timeouts, EINTR and removal while blocked, exact waiter counts, atomicity and
// order, limits and bad arguments. SEM_UNDO is in sysv_sem_undo.cc.
#include <pthread.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr int kChildTimeoutMs = 3000;
constexpr const char* kBlockedHelp = "(exit 251: the call was never seen blocked)";

// SEMVMX as semctl(2) IPC_INFO reports it (0 if it cannot).
int semvmx() {
  seminfo info{};
  SemArg a{};
  a.info = &info;
  return ::semctl(0, 0, IPC_INFO, a) >= 0 ? info.semvmx : 0;
}

// A caller sleeping in semop(2), once it is seen blocked there:
//   - when the set is removed fails with EIDRM, whether it waits to decrement or for zero;
//   - when it catches a signal (handler without SA_RESTART) fails with EINTR, and no longer
//     counts in GETNCNT.
struct BlockedCase {
  CaseInfo info;
  bool also_zero;  // also a wait for zero (the decrement is always checked)
  bool signal;     // woken by a signal (else by IPC_RMID)
  int err;
};
void blocked_semop_woken(const BlockedCase& c) {
  for (short op : {-1, 0}) {
    if (op == 0 && !c.also_zero) break;
    SCOPED_TRACE(op == 0 ? "wait for zero" : "decrement");
    IPCB_SYSV_MAKE(SemSet, s, 1);
    ASSERT_EQ(semctl_setval(s.id(), 0, op == 0 ? 1 : 0), 0);
    int id = s.id();
    const bool signal = c.signal;
    ChildResult r = run_in_child(
        [id, op, signal] {
          std::optional<InterruptingSignal> sig;
          if (signal) sig.emplace(SIGUSR1);
          pthread_t self = ::pthread_self();
          return when_blocked([id, op] { return failed_with(semop_one(id, 0, op, 0)); },
                              IPCB_SEMOP_CALLS,
                              [id, self, signal] {
                                if (signal) {
                                  ::pthread_kill(self, SIGUSR1);
                                } else {
                                  ::semctl(id, 0, IPC_RMID);
                                }
                              });
        },
        kChildTimeoutMs);
    EXPECT_EQ(r.describe(), exited_with(c.err)) << kBlockedHelp;
    if (c.signal) {
      EXPECT_EQ(semctl_get(id, 0, GETNCNT), 0);
    }
  }
}
const BlockedCase kBlocked[] = {
    {{"IpcRmidWakesBlockedSemopWithEidrm", "semop(2)", "E19"}, true, false, EIDRM},
    {{"BlockedSemopInterruptedBySignalFailsEintr", "semop(2)", "E20"}, false, true, EINTR},
};
CONFORM_CASES("SysvSem", kBlocked, blocked_semop_woken);

// semop(2) with IPC_NOWAIT fails, and the same call with a valid argument (the positive control)
// succeeds:
//   - a decrement that cannot proceed fails with EAGAIN and changes nothing;
//   - nsops 0, or a semid below zero, fails with EINVAL;
//   - a sem_num at or beyond the number of semaphores in the set fails with EFBIG, including
//     65535 (what -1 becomes as an unsigned short).
struct Semop {
  bool bad_id;  // semid -1 (else the set's)
  unsigned short num;
  short op;
  size_t nsops;
};
struct SemopErrorCase {
  CaseInfo info;
  int nsems, value;  // the set, and the value of its semaphore 0
  int nbad;
  Semop bad[2];  // the `nbad` failing calls
  int err;
  bool unchanged;  // then semaphore 0 still holds `value`
  Semop control;
};
void semop_fails(const SemopErrorCase& c) {
  IPCB_SYSV_MAKE(SemSet, s, c.nsems);
  if (c.value != 0) {
    ASSERT_EQ(semctl_setval(s.id(), 0, c.value), 0);
  }
  auto call = [&s](const Semop& o) {
    sembuf b{o.num, o.op, IPC_NOWAIT};
    return ::semop(o.bad_id ? -1 : s.id(), &b, o.nsops);
  };
  for (int i = 0; i < c.nbad; ++i) {
    const Semop& o = c.bad[i];
    EXPECT_EQ(failed_with(call(o)), c.err) << "sem_num " << o.num << ", nsops " << o.nsops;
  }
  if (c.unchanged) {
    EXPECT_EQ(semctl_get(s.id(), 0), c.value);
  }
  EXPECT_EQ(call(c.control), 0) << "control: " << std::strerror(errno);
}
// clang-format off
const SemopErrorCase kSemopErrors[] = {
  {{"NowaitWouldBlockFailsEagain", "semop(2)", "E16"}, 1, 1,
   1, {{false, 0, -2, 1}}, EAGAIN, true, {false, 0, -1, 1}},
  {{"ZeroNsopsOrNegativeIdFailsEinval", "semop(2)", "E12"}, 1, 0,
   2, {{false, 0, 1, 0}, {true, 0, 1, 1}}, EINVAL, false, {false, 0, 1, 1}},
  {{"SemNumOutOfRangeFailsEfbig", "semop(2)", "E14"}, 2, 0,
   2, {{false, 2, 1, 1}, {false, 65535, 1, 1}}, EFBIG, false, {false, 1, 1, 1}},
};
// clang-format on
CONFORM_CASES("SysvSem", kSemopErrors, semop_fails);

}  // namespace

// semop(2): semtimedop fails with EAGAIN (not ETIMEDOUT) once its relative time limit expires,
// for a decrement and for a wait for zero, performing nothing.
TEST(SysvSem, SemtimedopTimesOutWithEagain) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E17");
  IPCB_SYSV_MAKE(SemSet, s, 2);
  ASSERT_EQ(semctl_setval(s.id(), 1, 1), 0);
  for (sembuf op : {sembuf{0, -1, 0}, sembuf{1, 0, 0}}) {
    SCOPED_TRACE(op.sem_op == 0 ? "wait for zero" : "decrement");
    timespec limit{0, 20'000'000};
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(failed_with(::semtimedop(s.id(), &op, 1, &limit)), EAGAIN);
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(20));
    EXPECT_LT(waited, std::chrono::seconds(2));
  }
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
  EXPECT_EQ(semctl_get(s.id(), 1), 1);
}

// semctl(2): GETNCNT counts the processes waiting to decrement a semaphore, GETZCNT those
// waiting for it to be zero: 0 while none waits, exactly 5 with 5 children blocked in semop of
// each kind, 0 again once they are released (and then they all succeed).
TEST(SysvSem, WaitersCountedInSemncntAndSemzcnt) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E25");
  constexpr int kEach = 5;
  IPCB_SYSV_MAKE(SemSet, s, 2);
  const int id = s.id();
  ASSERT_EQ(semctl_setval(id, 1, 1), 0);
  EXPECT_EQ(semctl_get(id, 0, GETNCNT), 0);
  EXPECT_EQ(semctl_get(id, 1, GETZCNT), 0);
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  Rendezvous* r = rv.get();
  std::vector<std::future<ChildResult>> kids;
  for (int i = 0; i < 2 * kEach; ++i) {
    bool zero = i % 2 == 1;  // odd: wait for zero on semaphore 1; even: decrement semaphore 0
    kids.push_back(in_child_async([id, zero, r] {
      r->ready();
      return failed_with(semop_one(id, zero ? 1 : 0, zero ? 0 : -1, 0));
    }));
  }
  ASSERT_TRUE(rv->wait_for(2 * kEach));
  for (int i = 0; i < 2 * kEach; ++i) {
    EXPECT_TRUE(wait_blocked_in(rv->pids[i].load(), IPCB_SEMOP_CALLS)) << "child " << i;
  }
  EXPECT_EQ(semctl_get(id, 0, GETNCNT), kEach);
  EXPECT_EQ(semctl_get(id, 1, GETZCNT), kEach);
  EXPECT_EQ(semctl_get(id, 0, GETZCNT), 0);
  EXPECT_EQ(semctl_get(id, 1, GETNCNT), 0);
  EXPECT_EQ(semop_one(id, 0, kEach), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_setval(id, 1, 0), 0) << std::strerror(errno);
  for (auto& k : kids) EXPECT_EQ(k.get().describe(), exited_with(0));
  EXPECT_EQ(semctl_get(id, 0, GETNCNT), 0);
  EXPECT_EQ(semctl_get(id, 1, GETZCNT), 0);
  EXPECT_EQ(semctl_get(id, 0), 0);
}

// semop(2): sem_op 0 is a wait for zero: with IPC_NOWAIT it fails with EAGAIN while the value is
// non-zero and succeeds at once when it is zero.
TEST(SysvSem, WaitForZeroWithNowait) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E15");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  EXPECT_EQ(semop_one(s.id(), 0, 0), 0) << std::strerror(errno);
  ASSERT_EQ(semctl_setval(s.id(), 0, 1), 0);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 0)), EAGAIN);
}

// semop(2): the operations of one call are atomic: all are performed or none.
TEST(SysvSem, OperationsOfOneCallAreAtomic) {
  CONFORM_MAN("semop(2)");
  IPCB_SYSV_MAKE(SemSet, s, 2);
  sembuf ops[] = {{0, 1, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
  EXPECT_EQ(failed_with(::semop(s.id(), ops, 2)), EAGAIN);
  EXPECT_EQ(semctl_get(s.id(), 0), 0);  // the first operation was not applied
}

// semop(2): the operations are performed in array order: +1 then -1 on a zero semaphore
// succeeds, -1 then +1 would block.
TEST(SysvSem, OperationsRunInArrayOrder) {
  CONFORM_MAN("semop(2)");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  sembuf down_up[] = {{0, -1, IPC_NOWAIT}, {0, 1, IPC_NOWAIT}};
  EXPECT_EQ(failed_with(::semop(s.id(), down_up, 2)), EAGAIN);
  sembuf up_down[] = {{0, 1, IPC_NOWAIT}, {0, -1, IPC_NOWAIT}};
  EXPECT_EQ(::semop(s.id(), up_down, 2), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semop(2): nsops greater than SEMOPM (kernel.sem, third field) fails with E2BIG, in semop and
// semtimedop, for SEMOPM + 1 and for 1024 operations; exactly SEMOPM is accepted. Run without
// privilege.
TEST(SysvSem, NsopsAboveSemopmFailsE2big) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E09");
  long long semopm = kernel_sem()[2];
  if (semopm <= 0 || semopm >= 100000) CONFORM_SKIP("SEMOPM is not a small positive number");
  ChildResult r = unprivileged_owner(Sysv::kSem, 0600, [semopm](int id, key_t) {
    timespec limit{1, 0};
    for (long long n : {semopm + 1, std::max(1024LL, semopm + 1)}) {
      std::vector<sembuf> ops(static_cast<size_t>(n), sembuf{0, 0, IPC_NOWAIT});
      if (failed_with(::semop(id, ops.data(), ops.size())) != E2BIG) return 1;
      if (failed_with(::semtimedop(id, ops.data(), ops.size(), &limit)) != E2BIG) return 2;
    }
    std::vector<sembuf> ops(static_cast<size_t>(semopm), sembuf{0, 0, IPC_NOWAIT});
    return ::semop(id, ops.data(), ops.size()) == 0 ? 0 : child_fail(3, "SEMOPM operations");
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1: semop; 2: semtimedop; 3: the control failed";
}

// semop(2): an operation taking semval above SEMVMX (as IPC_INFO reports it) fails with ERANGE;
// reaching SEMVMX exactly is allowed.
TEST(SysvSem, SemopAboveSemvmxFailsErange) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E13");
  int vmx = semvmx();
  ASSERT_GT(vmx, 1) << "IPC_INFO: " << std::strerror(errno);
  IPCB_SYSV_MAKE(SemSet, s, 1);
  ASSERT_EQ(semctl_setval(s.id(), 0, vmx - 1), 0) << std::strerror(errno);
  EXPECT_EQ(semop_one(s.id(), 0, 1), 0) << "reaching SEMVMX exactly: " << std::strerror(errno);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 1)), ERANGE);
  EXPECT_EQ(semctl_get(s.id(), 0), vmx);
}

}  // namespace ipcb::conform
