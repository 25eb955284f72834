// Does semctl(2) report and set System V semaphore sets as documented here: IPC_STAT / IPC_SET,
// the values (GETVAL, SETVAL, GETALL, SETALL) and their range, sempid (GETPID), and errors for
// bad commands, ids and buffers.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

semid_ds sem_stat(int id) {
  semid_ds ds{};
  SemArg a{};
  a.buf = &ds;
  if (::semctl(id, 0, IPC_STAT, a) != 0) ADD_FAILURE() << "IPC_STAT: " << std::strerror(errno);
  return ds;
}

}  // namespace

// semget(2)/semctl(2): IPC_STAT of a new set of 10 shows sem_nsems 10, uid and cuid the
// creator's euid, gid and cgid its egid, and the mode asked for; IPC_SET by the owner changes
// the mode (0600 to 0640), and IPC_STAT shows it.
TEST(SysvSem, StatOfNewSetAndIpcSetChangesMode) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E01 E23");
  IPCB_SYSV_MAKE(SemSet, s, 10, 0600);
  semid_ds ds = sem_stat(s.id());
  EXPECT_EQ(ds.sem_nsems, 10u);
  EXPECT_EQ(ds.sem_perm.cuid, ::geteuid());
  EXPECT_EQ(ds.sem_perm.uid, ::geteuid());
  EXPECT_EQ(ds.sem_perm.cgid, ::getegid());
  EXPECT_EQ(ds.sem_perm.gid, ::getegid());
  EXPECT_EQ(ds.sem_perm.mode & 0777, 0600u);
  ds.sem_perm.mode = 0640;
  SemArg a{};
  a.buf = &ds;
  ASSERT_EQ(::semctl(s.id(), 0, IPC_SET, a), 0) << std::strerror(errno);
  semid_ds now = sem_stat(s.id());
  EXPECT_EQ(now.sem_perm.mode & 0777, 0640u);
  EXPECT_EQ(now.sem_nsems, 10u);
  EXPECT_EQ(now.sem_perm.uid, ::geteuid());
}

// semctl(2): values round-trip: SETALL then GETALL and GETVAL give them back; SETVAL then GETVAL
// and GETALL give it back.
TEST(SysvSem, ValuesRoundTrip) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E24");
  IPCB_SYSV_MAKE(SemSet, s, 4);
  std::array<unsigned short, 4> set{3, 0, 32767, 12}, got{};
  SemArg a{};
  a.array = set.data();
  ASSERT_EQ(::semctl(s.id(), 0, SETALL, a), 0) << std::strerror(errno);
  a.array = got.data();
  ASSERT_EQ(::semctl(s.id(), 0, GETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(got, set);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(semctl_get(s.id(), i), set[static_cast<size_t>(i)]);
  ASSERT_EQ(semctl_setval(s.id(), 1, 99), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(s.id(), 1), 99);
  ASSERT_EQ(::semctl(s.id(), 0, GETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(got, (std::array<unsigned short, 4>{3, 99, 32767, 12}));
}

// semctl(2): SETVAL below 0 or above SEMVMX (32767) fails with ERANGE, as does SETALL with a
// value above it (32768, 65535); SEMVMX itself is allowed, and nothing changes on failure.
TEST(SysvSem, SetvalOrSetallOutsideZeroToSemvmxFailsErange) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E33");
  IPCB_SYSV_MAKE(SemSet, s, 2);
  EXPECT_EQ(semctl_setval(s.id(), 0, kSemvmx), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(semctl_setval(s.id(), 0, kSemvmx + 1)), ERANGE);
  EXPECT_EQ(failed_with(semctl_setval(s.id(), 0, -1)), ERANGE);
  for (unsigned short big : {32768, 65535}) {
    unsigned short vals[2] = {1, big};
    SemArg a{};
    a.array = vals;
    EXPECT_EQ(failed_with(::semctl(s.id(), 0, SETALL, a)), ERANGE) << big;
  }
  EXPECT_EQ(semctl_get(s.id(), 0), kSemvmx);
  EXPECT_EQ(semctl_get(s.id(), 1), 0);
}

// semctl(2): GETPID returns sempid, the pid of the last process that operated on the semaphore:
// a child's pid after its semop; the caller's after the caller did only SETVAL (Linux sets
// sempid on SETVAL too).
TEST(SysvSem, GetpidReturnsLastOperator) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E26");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  EXPECT_EQ(semctl_get(s.id(), 0, GETPID), 0);
  SharedMemory<std::atomic<pid_t>> child;
  ASSERT_TRUE(child.ok());
  ChildResult r = run_in_child([&s, &child] {
    child->store(::getpid());
    return semop_one(s.id(), 0, 1) == 0 ? 0 : errno;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(semctl_get(s.id(), 0, GETPID), child->load());
  IPCB_SYSV_MAKE(SemSet, fresh, 1);
  ASSERT_EQ(semctl_setval(fresh.id(), 0, 3), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(fresh.id(), 0, GETPID), ::getpid());
}

// semctl(2) NOTES: Linux updates sempid on SETVAL, and on SETALL since Linux 4.6: a child's
// SETVAL makes it the child's pid, the caller's SETALL the caller's.
TEST(SysvSem, SetvalAndSetallUpdateSempid) {
  CONFORM_MAN("semctl(2)");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  int id = s.id();
  SharedMemory<std::atomic<pid_t>> child;
  ASSERT_TRUE(child.ok());
  ChildResult r = run_in_child([id, &child] {
    child->store(::getpid());
    return semctl_setval(id, 0, 2) == 0 ? 0 : errno;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(semctl_get(id, 0, GETPID), child->load());
  unsigned short vals[1] = {4};
  SemArg a{};
  a.array = vals;
  ASSERT_EQ(::semctl(id, 0, SETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(id, 0, GETPID), ::getpid());
}

// semctl(2): an invalid cmd (-1, or an unknown number) or a semid below zero fails with EINVAL.
TEST(SysvSem, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E30");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  EXPECT_EQ(failed_with(::semctl(s.id(), 0, -1)), EINVAL);
  EXPECT_EQ(failed_with(::semctl(s.id(), 0, 12345)), EINVAL);
  semid_ds ds{};
  SemArg a{};
  a.buf = &ds;
  EXPECT_EQ(failed_with(::semctl(-1, 0, IPC_STAT, a)), EINVAL);
  EXPECT_EQ(failed_with(::semctl(-1, 0, GETVAL)), EINVAL);
  EXPECT_EQ(::semctl(s.id(), 0, IPC_STAT, a), 0) << "control: " << std::strerror(errno);
}

}  // namespace ipcb::conform
