// Does SEM_UNDO (semop(2)) behave as documented here: several operations in one call, the
// adjustment kept per process (not per thread) and applied when the process exits or is
// killed, cleared by SETVAL / SETALL (semctl(2)), mutual exclusion between processes, and no
// drift under load.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// True once thread `tid` of this process is gone from /proc/self/task (its exit is complete,
// exit_sem() included); false after a second.
bool thread_gone(pid_t tid) {
  const std::string path = "/proc/self/task/" + std::to_string(tid);
  struct stat st {};
  for (int i = 0; i < 1000; ++i) {
    if (::stat(path.c_str(), &st) != 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

}  // namespace

// semop(2): one call with 4 SEM_UNDO operations (sem_op i*i on semaphore i, the first a wait for
// zero) applies them all together: values 0, 1, 4, 9; the caller's exit undoes them all.
TEST(SysvSem, SeveralUndoOperationsInOneCall) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E08");
  IPCB_SYSV_MAKE(SemSet, s, 4);
  ChildResult r = run_in_child([&s] {
    sembuf ops[4];
    for (unsigned short i = 0; i < 4; ++i) ops[i] = {i, static_cast<short>(i * i), SEM_UNDO};
    if (::semop(s.id(), ops, 4) != 0) return child_fail(1, "semop");
    std::array<unsigned short, 4> vals{};
    SemArg a{};
    a.array = vals.data();
    if (::semctl(s.id(), 0, GETALL, a) != 0) return kSetupFailed;
    return vals == std::array<unsigned short, 4>{0, 1, 4, 9} ? 0 : 2;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "2: not all applied";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(semctl_get(s.id(), i), 0) << "semaphore " << i;
}

// semop(2): SEM_UNDO adjustments belong to the process, not the thread: after the thread that
// did +1 with SEM_UNDO has exited the value is still 1; the process's exit undoes it.
TEST(SysvSem, SemUndoIsPerProcessNotPerThread) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E22");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  Rendezvous* r = rv.get();
  int id = s.id();
  auto child = in_child_async([id, r] {
    std::atomic<int> err{-1};
    std::atomic<pid_t> tid{0};
    std::thread t([&] {
      tid = ::gettid();
      err = semop_one(id, 0, 1, SEM_UNDO) == 0 ? 0 : errno;
    });
    t.join();
    if (err != 0) return 1;
    if (!thread_gone(tid)) return 2;
    r->ready();
    return r->go_wait() ? 0 : 3;
  });
  bool ready = rv->wait_for(1);
  EXPECT_TRUE(ready);
  EXPECT_EQ(semctl_get(id, 0), 1) << "undone when the thread exited";
  rv->go();
  EXPECT_EQ(child.get().describe(), exited_with(0)) << "1: semop; 2: the thread lingered";
  EXPECT_EQ(semctl_get(id, 0), 0) << "not undone when the process exited";
}

// semop(2): a SEM_UNDO decrement is given back however its process ends: when the holder of a
// semaphore used as a lock exits (without releasing), and when it is killed by SIGKILL.
TEST(SysvSem, SemUndoAppliedWhenHolderExitsOrIsKilled) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("U05");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  ASSERT_EQ(semctl_setval(s.id(), 0, 1), 0);
  for (bool killed : {false, true}) {
    SCOPED_TRACE(killed ? "killed" : "exits");
    ChildResult r = run_in_child([&s, killed] {
      if (semop_one(s.id(), 0, -1, SEM_UNDO) != 0) return kSetupFailed;
      if (semctl_get(s.id(), 0) != 0) return 1;  // held
      if (killed) ::raise(SIGKILL);
      return 0;
    });
    if (killed) {
      ASSERT_EQ(r.signal, SIGKILL) << r.describe();
    } else {
      ASSERT_EQ(r.describe(), exited_with(0));
    }
    EXPECT_EQ(semctl_get(s.id(), 0), 1);
  }
}

// semop(2) exit-time undo, plainly: a SEM_UNDO increment is reverted when the process exits.
TEST(SysvSem, SemUndoRevertedAtExit) {
  CONFORM_MAN("semop(2)");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  ChildResult r = run_in_child([&s] { return semop_one(s.id(), 0, 3, SEM_UNDO) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// semctl(2): SETVAL clears the semaphore's SEM_UNDO adjustment in all processes (SETALL does for
// every semaphore of the set): a holder that took 1 with SEM_UNDO exits after another process
// set the value to 5 (and 7 with SETALL), and the values stay 5 and 7.
TEST(SysvSem, SetvalClearsUndoAdjustments) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("U06");
  IPCB_SYSV_MAKE(SemSet, by_setval, 1);
  IPCB_SYSV_MAKE(SemSet, by_setall, 1);
  int a = by_setval.id(), b = by_setall.id();
  ASSERT_EQ(semctl_setval(a, 0, 1), 0);
  ASSERT_EQ(semctl_setval(b, 0, 1), 0);
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  Rendezvous* r = rv.get();
  auto holder = in_child_async([a, b, r] {
    if (semop_one(a, 0, -1, SEM_UNDO) != 0 || semop_one(b, 0, -1, SEM_UNDO) != 0) return 1;
    r->ready();
    return r->go_wait() ? 0 : 2;
  });
  ASSERT_TRUE(rv->wait_for(1));
  EXPECT_EQ(semctl_setval(a, 0, 5), 0) << std::strerror(errno);
  unsigned short seven[1] = {7};
  SemArg arg{};
  arg.array = seven;
  EXPECT_EQ(::semctl(b, 0, SETALL, arg), 0) << std::strerror(errno);
  rv->go();
  EXPECT_EQ(holder.get().describe(), exited_with(0));
  EXPECT_EQ(semctl_get(a, 0), 5) << "the holder's adjustment survived SETVAL";
  EXPECT_EQ(semctl_get(b, 0), 7) << "the holder's adjustment survived SETALL";
}

// semop(2): a semaphore of value 1 with SEM_UNDO down/up around a critical section excludes:
// two processes entering it 2000 times each are never inside together and lose no update.
TEST(SysvSem, SemUndoLockGivesMutualExclusion) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E21");
  struct Shared {
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    volatile long counter = 0;
  };
  IPCB_SYSV_MAKE(SemSet, s, 1);
  ASSERT_EQ(semctl_setval(s.id(), 0, 1), 0);
  SharedMemory<Shared> sh;
  ASSERT_TRUE(sh.ok());
  Shared* p = sh.get();
  int id = s.id();
  auto worker = [id, p] {
    for (int i = 0; i < 2000; ++i) {
      if (semop_one(id, 0, -1, SEM_UNDO) != 0) return child_fail(1, "down");
      if (p->inside.fetch_add(1) != 0) p->overlaps.fetch_add(1);
      p->counter = p->counter + 1;
      p->inside.fetch_sub(1);
      if (semop_one(id, 0, 1, SEM_UNDO) != 0) return child_fail(2, "up");
    }
    return 0;
  };
  auto one = in_child_async(worker);
  auto two = in_child_async(worker);
  EXPECT_EQ(one.get().describe(), exited_with(0));
  EXPECT_EQ(two.get().describe(), exited_with(0));
  EXPECT_EQ(p->overlaps.load(), 0);
  EXPECT_EQ(p->counter, 4000);
  EXPECT_EQ(semctl_get(id, 0), 1);
}

// semop(2): SEM_UNDO under load: 3 sets, 5 children each, 500 paired -x/+x SEM_UNDO operations
// per child: every value ends where it started (no drift in values or adjustments).
TEST(SysvSem, SemUndoStressLeavesValuesUnchanged) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E34");
  constexpr int kSets = 3, kChildren = 5, kPairs = 500;
  std::vector<std::unique_ptr<SemSet>> sets;
  for (int i = 0; i < kSets; ++i) {
    sets.push_back(std::make_unique<SemSet>(2));
    ASSERT_GE(sets.back()->id(), 0) << sets.back()->error();
    ASSERT_EQ(semctl_setval(sets.back()->id(), 0, 10 + i), 0);
    ASSERT_EQ(semctl_setval(sets.back()->id(), 1, 20 + i), 0);
  }
  std::vector<std::future<ChildResult>> kids;
  for (int i = 0; i < kSets; ++i) {
    for (int c = 0; c < kChildren; ++c) {
      int id = sets[static_cast<size_t>(i)]->id();
      kids.push_back(in_child_async([id, c] {
        for (int k = 0; k < kPairs; ++k) {
          auto num = static_cast<unsigned short>((k + c) % 2);
          auto x = static_cast<short>(1 + (k + c) % 3);
          if (semop_one(id, num, static_cast<short>(-x), SEM_UNDO) != 0) return 1;
          if (semop_one(id, num, x, SEM_UNDO) != 0) return 2;
        }
        return 0;
      }));
    }
  }
  for (auto& k : kids) EXPECT_EQ(k.get().describe(), exited_with(0));
  for (int i = 0; i < kSets; ++i) {
    EXPECT_EQ(semctl_get(sets[static_cast<size_t>(i)]->id(), 0), 10 + i) << "set " << i;
    EXPECT_EQ(semctl_get(sets[static_cast<size_t>(i)]->id(), 1), 20 + i) << "set " << i;
  }
}

}  // namespace ipcb::conform
