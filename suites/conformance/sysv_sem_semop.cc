// Does semop(2)/semtimedop(2) on a System V semaphore set behave as documented here: would-block,
// timeouts, EINTR and removal while blocked, waiter counts, atomicity and order, limits, SEM_UNDO.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

constexpr int kChildTimeoutMs = 3000;

// Runs `act` on a helper thread once `ready()` holds (checked every ms, at most 2 s).
class When {
 public:
  When(std::function<bool()> ready, std::function<void()> act)
      : t_([ready = std::move(ready), act = std::move(act)] {
          auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
          while (!ready() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          act();
        }) {}
  ~When() { t_.join(); }

 private:
  std::thread t_;
};

}  // namespace

// semop(2): a caller sleeping on the set when it is removed fails with EIDRM.
TEST(SysvSem, IpcRmidWakesBlockedSemopWithEidrm) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  int id = s.id();
  ChildResult r = run_in_child(
      [id] {
        When rm([id] { return semctl_get(id, 0, GETNCNT) > 0; },
                [id] { ::semctl(id, 0, IPC_RMID); });
        return failed_with(semop_one(id, 0, -1, 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EIDRM));
}

// semop(2): an operation that cannot proceed, with IPC_NOWAIT, fails with EAGAIN and changes
// nothing.
TEST(SysvSem, NowaitWouldBlockFailsEagain) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, -1)), EAGAIN);
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semop(2): semtimedop fails with EAGAIN once its time limit expires, performing nothing.
TEST(SysvSem, SemtimedopTimesOutWithEagain) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  sembuf down{0, -1, 0};
  timespec limit{0, 30'000'000};
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(failed_with(::semtimedop(s.id(), &down, 1, &limit)), EAGAIN);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(30));
  EXPECT_LT(waited, std::chrono::seconds(2));
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semop(2): a caller sleeping in semop that catches a signal fails with EINTR.
TEST(SysvSem, BlockedSemopInterruptedBySignalFailsEintr) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult r = run_in_child(
      [&s] {
        InterruptingSignal sig(SIGUSR1);
        sig.send_after(30);
        return failed_with(semop_one(s.id(), 0, -1, 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(EINTR));
}

// semop(2): waiters are counted: semncnt for a decrement that must wait, semzcnt for a wait for
// zero; a wait for zero returns once the value reaches 0.
TEST(SysvSem, WaitersCountedInSemncntAndSemzcnt) {
  CONFORM_MAN("semop(2)");
  SemSet s(2);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(semctl_setval(s.id(), 1, 1), 0);
  int id = s.id();
  ChildResult r = run_in_child(
      [id] {
        When release([id] { return semctl_get(id, 1, GETZCNT) == 1; },
                     [id] { semctl_setval(id, 1, 0); });
        return failed_with(semop_one(id, 1, 0, 0));  // wait for zero
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  r = run_in_child(
      [id] {
        When post([id] { return semctl_get(id, 0, GETNCNT) == 1; }, [id] { semop_one(id, 0, 1); });
        return failed_with(semop_one(id, 0, -1, 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(semctl_get(id, 0, GETNCNT), 0);
  EXPECT_EQ(semctl_get(id, 1, GETZCNT), 0);
}

// semop(2): sem_op 0 is a wait for zero: with IPC_NOWAIT it fails with EAGAIN while the value is
// non-zero and succeeds at once when it is zero.
TEST(SysvSem, WaitForZeroWithNowait) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(semop_one(s.id(), 0, 0), 0) << std::strerror(errno);
  ASSERT_EQ(semctl_setval(s.id(), 0, 1), 0);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 0)), EAGAIN);
}

// semop(2): the operations of one call are atomic: all are performed or none.
TEST(SysvSem, OperationsOfOneCallAreAtomic) {
  CONFORM_MAN("semop(2)");
  SemSet s(2);
  ASSERT_GE(s.id(), 0) << s.error();
  sembuf ops[] = {{0, 1, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
  EXPECT_EQ(failed_with(::semop(s.id(), ops, 2)), EAGAIN);
  EXPECT_EQ(semctl_get(s.id(), 0), 0);  // the first operation was not applied
}

// semop(2): the operations are performed in array order: +1 then -1 on a zero semaphore
// succeeds, -1 then +1 would block.
TEST(SysvSem, OperationsRunInArrayOrder) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  sembuf down_up[] = {{0, -1, IPC_NOWAIT}, {0, 1, IPC_NOWAIT}};
  EXPECT_EQ(failed_with(::semop(s.id(), down_up, 2)), EAGAIN);
  sembuf up_down[] = {{0, 1, IPC_NOWAIT}, {0, -1, IPC_NOWAIT}};
  EXPECT_EQ(::semop(s.id(), up_down, 2), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semop(2): nsops greater than SEMOPM (kernel.sem, third field) fails with E2BIG.
TEST(SysvSem, NsopsAboveSemopmFailsE2big) {
  CONFORM_MAN("semop(2)");
  long long semopm = kernel_sem()[2];
  if (semopm <= 0 || semopm > 100000) CONFORM_SKIP("SEMOPM is not a small positive number");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  std::vector<sembuf> ops(static_cast<size_t>(semopm + 1), sembuf{0, 0, IPC_NOWAIT});
  EXPECT_EQ(failed_with(::semop(s.id(), ops.data(), ops.size())), E2BIG);
}

// semop(2): a nonpositive nsops fails with EINVAL.
TEST(SysvSem, ZeroNsopsFailsEinval) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  sembuf one{0, 1, IPC_NOWAIT};
  EXPECT_EQ(failed_with(::semop(s.id(), &one, 0)), EINVAL);
}

// semop(2): a sem_num at or beyond the number of semaphores in the set fails with EFBIG.
TEST(SysvSem, SemNumOutOfRangeFailsEfbig) {
  CONFORM_MAN("semop(2)");
  SemSet s(2);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(failed_with(semop_one(s.id(), 2, 1)), EFBIG);
}

// semop(2): an operation taking semval above SEMVMX (32767) fails with ERANGE.
TEST(SysvSem, SemopAboveSemvmxFailsErange) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(semctl_setval(s.id(), 0, kSemvmx - 1), 0) << std::strerror(errno);
  EXPECT_EQ(semop_one(s.id(), 0, 1), 0) << "reaching SEMVMX exactly: " << std::strerror(errno);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 1)), ERANGE);
  EXPECT_EQ(semctl_get(s.id(), 0), kSemvmx);
}

// semop(2): SEM_UNDO operations are undone when the process exits.
TEST(SysvSem, SemUndoRevertedAtExit) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult r = run_in_child([&s] { return semop_one(s.id(), 0, 3, SEM_UNDO) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semop(2): SEM_UNDO is applied however the process ends: a holder killed by SIGKILL gives its
// decrement back (the crash case of a semaphore used as a lock).
TEST(SysvSem, SemUndoRevertedWhenHolderIsKilled) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(semctl_setval(s.id(), 0, 1), 0);
  ChildResult r = run_in_child([&s] {
    if (semop_one(s.id(), 0, -1, SEM_UNDO) != 0) return kSetupFailed;
    ::raise(SIGKILL);
    return 0;
  });
  ASSERT_EQ(r.signal, SIGKILL) << r.describe();
  EXPECT_EQ(semctl_get(s.id(), 0), 1);
}

// semop(2): an inaccessible sops fails with EFAULT.
TEST(SysvSem, BadSopsBufferFailsEfault) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::semop(s.id(), static_cast<sembuf*>(page.get()), 1)), EFAULT);
}

}  // namespace ipcb::conform
