// Does a System V semaphore set (semget(2), semop(2)/semtimedop(2), semctl(2)) behave as
// documented here: lifetime, errors, would-block, timeouts, EINTR, limits, SEM_UNDO, sempid and
// permissions.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kSetupFailed = 250;  // a child's exit code when it could not set up its check
constexpr int kChildTimeoutMs = 3000;
constexpr int kSemvmx = 32767;  // SEMVMX, semctl(2)

// semctl(2): the caller defines union semun.
union SemArg {
  int val;
  semid_ds* buf;
  unsigned short* array;
  seminfo* info;
};

int failed_with(long rc) {
  return rc == -1 ? errno : 0;
}
std::string exited_with(int code) {
  return "child exited with " + std::to_string(code);
}

void remove_key(key_t key) {
  int id = ::semget(key, 0, 0);
  if (id >= 0) ::semctl(id, 0, IPC_RMID);
}

// One test's semaphore set: a fresh key, created exclusively, removed on every path.
class SemSet {
 public:
  explicit SemSet(int nsems, int mode = 0600) : key_(unique_key()) {
    id_ = ::semget(key_, nsems, IPC_CREAT | IPC_EXCL | mode);
    err_ = errno;
  }
  ~SemSet() {
    if (id_ >= 0) ::semctl(id_, 0, IPC_RMID);
    remove_key(key_);
  }
  SemSet(const SemSet&) = delete;
  SemSet& operator=(const SemSet&) = delete;
  key_t key() const { return key_; }
  int id() const { return id_; }
  std::string error() const { return std::strerror(err_); }

 private:
  key_t key_;
  int id_ = -1;
  int err_ = 0;
};

// One semop of `delta` on semaphore `num`; -1 and errno on failure.
int op(int id, unsigned short num, short delta, short flags = IPC_NOWAIT) {
  sembuf s{num, delta, flags};
  return ::semop(id, &s, 1);
}
int get(int id, int num, int cmd = GETVAL) {
  return ::semctl(id, num, cmd);
}
int set(int id, int num, int val) {
  SemArg a{};
  a.val = val;
  return ::semctl(id, num, SETVAL, a);
}

// The four numbers of kernel.sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI.
std::array<long long, 4> kernel_sem() {
  std::array<long long, 4> v{};
  std::ifstream f("/proc/sys/kernel/sem");
  for (auto& x : v) f >> x;
  return v;
}

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

ChildResult unprivileged(const std::function<int()>& fn) {
  return run_in_child([&] { return is_root() && !drop_to_nobody() ? kSetupFailed : fn(); });
}
ChildResult as_nobody(const std::function<int()>& fn) {
  return run_in_child([&] { return drop_to_nobody() ? fn() : kSetupFailed; });
}

}  // namespace

// semget(2): IPC_CREAT|IPC_EXCL on a key that has a set fails with EEXIST.
TEST(SysvSem, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("semget(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(failed_with(::semget(s.key(), 1, IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// semget(2): without IPC_CREAT, a key with no set fails with ENOENT.
TEST(SysvSem, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("semget(2)");
  EXPECT_EQ(failed_with(::semget(unique_key(), 1, 0600)), ENOENT);
}

// semget(2): nsems greater than SEMMSL (kernel.sem, first field) fails with EINVAL; exactly
// SEMMSL would be allowed.
TEST(SysvSem, NsemsAboveSemmslFailsEinval) {
  CONFORM_MAN("semget(2)");
  long long semmsl = kernel_sem()[0];
  ASSERT_GT(semmsl, 0);
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  EXPECT_EQ(failed_with(::semget(key, static_cast<int>(semmsl + 1), IPC_CREAT | 0600)), EINVAL);
  EXPECT_EQ(failed_with(::semget(key, -1, IPC_CREAT | 0600)), EINVAL);
}

// semget(2): opening an existing set with nsems larger than its size fails with EINVAL
// (0 is a "don't care").
TEST(SysvSem, OpenWithMoreSemsThanTheSetFailsEinval) {
  CONFORM_MAN("semget(2)");
  SemSet s(2);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(failed_with(::semget(s.key(), 3, 0600)), EINVAL);
  EXPECT_EQ(::semget(s.key(), 0, 0600), s.id());
}

// semget(2): nsems may be 0 only when the set is not being created: creating with 0 fails
// with EINVAL.
TEST(SysvSem, CreateWithZeroSemsFailsEinval) {
  CONFORM_MAN("semget(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  EXPECT_EQ(failed_with(::semget(key, 0, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// semget(2) NOTES: values in a new set are indeterminate by POSIX, but Linux sets them to 0.
TEST(SysvSem, NewSetValuesAreZeroOnLinux) {
  CONFORM_MAN("semget(2)");
  SemSet s(4);
  ASSERT_GE(s.id(), 0) << s.error();
  std::array<unsigned short, 4> vals{1, 1, 1, 1};
  SemArg a{};
  a.array = vals.data();
  ASSERT_EQ(::semctl(s.id(), 0, GETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(vals, (std::array<unsigned short, 4>{0, 0, 0, 0}));
}

// semget(2)/semctl(2): a set and its values persist after the creator exits.
TEST(SysvSem, PersistsAfterCreatorExits) {
  CONFORM_MAN("semget(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = run_in_child([key] {
    int id = ::semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    return id >= 0 && set(id, 0, 5) == 0 ? 0 : kSetupFailed;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::semget(key, 0, 0);
  ASSERT_GE(id, 0) << "set gone with its creator: " << std::strerror(errno);
  EXPECT_EQ(get(id, 0), 5);
}

// semctl(2): IPC_RMID removes the set at once: the key no longer finds it and the id is
// invalid (EINVAL).
TEST(SysvSem, IpcRmidIsImmediate) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(::semctl(s.id(), 0, IPC_RMID), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::semget(s.key(), 0, 0)), ENOENT);
  EXPECT_EQ(failed_with(op(s.id(), 0, 1)), EINVAL);
}

// semop(2): a caller sleeping on the set when it is removed fails with EIDRM.
TEST(SysvSem, IpcRmidWakesBlockedSemopWithEidrm) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  int id = s.id();
  ChildResult r = run_in_child(
      [id] {
        When rm([id] { return get(id, 0, GETNCNT) > 0; }, [id] { ::semctl(id, 0, IPC_RMID); });
        return failed_with(op(id, 0, -1, 0));
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
  EXPECT_EQ(failed_with(op(s.id(), 0, -1)), EAGAIN);
  EXPECT_EQ(get(s.id(), 0), 0);
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
  EXPECT_EQ(get(s.id(), 0), 0);
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
        return failed_with(op(s.id(), 0, -1, 0));
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
  ASSERT_EQ(set(s.id(), 1, 1), 0);
  int id = s.id();
  ChildResult r = run_in_child(
      [id] {
        When release([id] { return get(id, 1, GETZCNT) == 1; }, [id] { set(id, 1, 0); });
        return failed_with(op(id, 1, 0, 0));  // wait for zero
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  r = run_in_child(
      [id] {
        When post([id] { return get(id, 0, GETNCNT) == 1; }, [id] { op(id, 0, 1); });
        return failed_with(op(id, 0, -1, 0));
      },
      kChildTimeoutMs);
  EXPECT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(get(id, 0, GETNCNT), 0);
  EXPECT_EQ(get(id, 1, GETZCNT), 0);
}

// semop(2): sem_op 0 is a wait for zero: with IPC_NOWAIT it fails with EAGAIN while the value is
// non-zero and succeeds at once when it is zero.
TEST(SysvSem, WaitForZeroWithNowait) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(op(s.id(), 0, 0), 0) << std::strerror(errno);
  ASSERT_EQ(set(s.id(), 0, 1), 0);
  EXPECT_EQ(failed_with(op(s.id(), 0, 0)), EAGAIN);
}

// semop(2): the operations of one call are atomic: all are performed or none.
TEST(SysvSem, OperationsOfOneCallAreAtomic) {
  CONFORM_MAN("semop(2)");
  SemSet s(2);
  ASSERT_GE(s.id(), 0) << s.error();
  sembuf ops[] = {{0, 1, IPC_NOWAIT}, {1, -1, IPC_NOWAIT}};
  EXPECT_EQ(failed_with(::semop(s.id(), ops, 2)), EAGAIN);
  EXPECT_EQ(get(s.id(), 0), 0);  // the first operation was not applied
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
  EXPECT_EQ(get(s.id(), 0), 0);
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
  EXPECT_EQ(failed_with(op(s.id(), 2, 1)), EFBIG);
}

// semop(2): an operation taking semval above SEMVMX (32767) fails with ERANGE.
TEST(SysvSem, SemopAboveSemvmxFailsErange) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(set(s.id(), 0, kSemvmx - 1), 0) << std::strerror(errno);
  EXPECT_EQ(op(s.id(), 0, 1), 0) << "reaching SEMVMX exactly: " << std::strerror(errno);
  EXPECT_EQ(failed_with(op(s.id(), 0, 1)), ERANGE);
  EXPECT_EQ(get(s.id(), 0), kSemvmx);
}

// semctl(2): SETVAL below 0 or above SEMVMX fails with ERANGE; SEMVMX itself is allowed.
TEST(SysvSem, SetvalOutsideZeroToSemvmxFailsErange) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(set(s.id(), 0, kSemvmx), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(set(s.id(), 0, kSemvmx + 1)), ERANGE);
  EXPECT_EQ(failed_with(set(s.id(), 0, -1)), ERANGE);
}

// semctl(2): IPC_INFO reports the limits of kernel.sem and SEMVMX.
TEST(SysvSem, IpcInfoReportsKernelSem) {
  CONFORM_MAN("semctl(2)");
  seminfo info{};
  SemArg a{};
  a.info = &info;
  ASSERT_GE(::semctl(0, 0, IPC_INFO, a), 0) << std::strerror(errno);
  auto sem = kernel_sem();
  EXPECT_EQ(info.semmsl, sem[0]);
  EXPECT_EQ(info.semmns, sem[1]);
  EXPECT_EQ(info.semopm, sem[2]);
  EXPECT_EQ(info.semmni, sem[3]);
  EXPECT_EQ(info.semvmx, kSemvmx);
}

// semop(2): SEM_UNDO operations are undone when the process exits.
TEST(SysvSem, SemUndoRevertedAtExit) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult r = run_in_child([&s] { return op(s.id(), 0, 3, SEM_UNDO) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(get(s.id(), 0), 0);
}

// semop(2): SEM_UNDO is applied however the process ends: a holder killed by SIGKILL gives its
// decrement back (the crash case of a semaphore used as a lock).
TEST(SysvSem, SemUndoRevertedWhenHolderIsKilled) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(set(s.id(), 0, 1), 0);
  ChildResult r = run_in_child([&s] {
    if (op(s.id(), 0, -1, SEM_UNDO) != 0) return kSetupFailed;
    ::raise(SIGKILL);
    return 0;
  });
  ASSERT_EQ(r.signal, SIGKILL) << r.describe();
  EXPECT_EQ(get(s.id(), 0), 1);
}

// semctl(2): GETPID returns sempid, the PID of the process that last operated on the semaphore.
TEST(SysvSem, GetpidReturnsLastOperator) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult r = run_in_child([&s] { return op(s.id(), 0, 1) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  pid_t last = get(s.id(), 0, GETPID);
  EXPECT_NE(last, ::getpid());
  EXPECT_GT(last, 0);
  ASSERT_EQ(op(s.id(), 0, -1), 0);
  EXPECT_EQ(get(s.id(), 0, GETPID), ::getpid());
}

// semctl(2) NOTES: Linux also updates sempid on SETVAL, and on SETALL since Linux 4.6.
TEST(SysvSem, SetvalAndSetallUpdateSempid) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  int id = s.id();
  ChildResult r = run_in_child([id] { return set(id, 0, 2) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_NE(get(id, 0, GETPID), ::getpid());
  unsigned short vals[1] = {4};
  SemArg a{};
  a.array = vals;
  ASSERT_EQ(::semctl(id, 0, SETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(get(id, 0, GETPID), ::getpid());
}

// semop(2): an inaccessible sops fails with EFAULT.
TEST(SysvSem, BadSopsBufferFailsEfault) {
  CONFORM_MAN("semop(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  long page = ::sysconf(_SC_PAGESIZE);
  void* p = ::mmap(nullptr, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Cleanup unmap([p, page] { ::munmap(p, page); });
  EXPECT_EQ(failed_with(::semop(s.id(), static_cast<sembuf*>(p), 1)), EFAULT);
}

// semop(2)/semctl(2): a semid below zero, or an invalid cmd, fails with EINVAL.
TEST(SysvSem, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("semctl(2)");
  EXPECT_EQ(failed_with(op(-1, 0, 1)), EINVAL);
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(failed_with(::semctl(s.id(), 0, 12345)), EINVAL);
}

// semctl(2): IPC_SET by the owner changes the permission bits of sem_perm.mode.
TEST(SysvSem, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1, 0600);
  ASSERT_GE(s.id(), 0) << s.error();
  semid_ds ds{};
  SemArg a{};
  a.buf = &ds;
  ASSERT_EQ(::semctl(s.id(), 0, IPC_STAT, a), 0) << std::strerror(errno);
  ds.sem_perm.mode = 0664;
  ASSERT_EQ(::semctl(s.id(), 0, IPC_SET, a), 0) << std::strerror(errno);
  ds = {};
  ASSERT_EQ(::semctl(s.id(), 0, IPC_STAT, a), 0) << std::strerror(errno);
  EXPECT_EQ(ds.sem_perm.mode & 0777, 0664);
}

// semop(2)/semctl(2): mode bits bind the owner too: without read permission GETVAL fails with
// EACCES; without alter (write) permission a semop that changes the value does.
TEST(SysvSem, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("semop(2)");
  key_t key = unique_key();
  Cleanup sweep([key] { remove_key(key); });
  ChildResult r = unprivileged([key] {
    int id = ::semget(key, 1, IPC_CREAT | IPC_EXCL | 0200);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::semctl(id, 0, IPC_RMID); });
    if (op(id, 0, 1) != 0) return 1;
    if (failed_with(get(id, 0)) != EACCES) return 2;
    semid_ds ds{};
    ds.sem_perm.uid = ::geteuid();
    ds.sem_perm.gid = ::getegid();
    ds.sem_perm.mode = 0400;
    SemArg a{};
    a.buf = &ds;
    if (::semctl(id, 0, IPC_SET, a) != 0) return 3;
    if (get(id, 0) != 1) return 4;
    return failed_with(op(id, 0, 1)) == EACCES ? 0 : 5;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// semop(2)/semctl(2): another user without permission on a 0600 set gets EACCES.
TEST(SysvSem, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("semop(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  SemSet s(1, 0600);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult up = as_nobody([&s] { return failed_with(op(s.id(), 0, 1)); });
  EXPECT_EQ(up.describe(), exited_with(EACCES));
  ChildResult val = as_nobody([&s] { return failed_with(get(s.id(), 0)); });
  EXPECT_EQ(val.describe(), exited_with(EACCES));
  EXPECT_EQ(get(s.id(), 0), 0);
}

// semctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM.
TEST(SysvSem, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("semctl(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  SemSet s(1, 0666);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult set_mode = as_nobody([&s] {
    semid_ds ds{};
    SemArg a{};
    a.buf = &ds;
    if (::semctl(s.id(), 0, IPC_STAT, a) != 0) return kSetupFailed;
    return failed_with(::semctl(s.id(), 0, IPC_SET, a));
  });
  EXPECT_EQ(set_mode.describe(), exited_with(EPERM));
  ChildResult rm = as_nobody([&s] { return failed_with(::semctl(s.id(), 0, IPC_RMID)); });
  EXPECT_EQ(rm.describe(), exited_with(EPERM));
  EXPECT_GE(::semget(s.key(), 0, 0), 0) << "the set is gone";
}

}  // namespace ipcb::conform
