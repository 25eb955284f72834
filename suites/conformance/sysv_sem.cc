// Does a System V semaphore set (semget(2), semctl(2)) behave as documented here: lifetime,
// errors, limits, values, sempid and permissions. The operations (semop(2)/semtimedop(2)) are in
// sysv_sem_semop.cc.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {

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
  Cleanup sweep = sweep_key(Sysv::kSem, key);
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
  Cleanup sweep = sweep_key(Sysv::kSem, key);
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
  Cleanup sweep = sweep_key(Sysv::kSem, key);
  ChildResult r = run_in_child([key] {
    int id = ::semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
    return id >= 0 && semctl_setval(id, 0, 5) == 0 ? 0 : kSetupFailed;
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::semget(key, 0, 0);
  ASSERT_GE(id, 0) << "set gone with its creator: " << std::strerror(errno);
  EXPECT_EQ(semctl_get(id, 0), 5);
}

// semctl(2): IPC_RMID removes the set at once: the key no longer finds it and the id is
// invalid (EINVAL).
TEST(SysvSem, IpcRmidIsImmediate) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ASSERT_EQ(::semctl(s.id(), 0, IPC_RMID), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::semget(s.key(), 0, 0)), ENOENT);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 1)), EINVAL);
}

// semctl(2): SETVAL below 0 or above SEMVMX fails with ERANGE; SEMVMX itself is allowed.
TEST(SysvSem, SetvalOutsideZeroToSemvmxFailsErange) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  EXPECT_EQ(semctl_setval(s.id(), 0, kSemvmx), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(semctl_setval(s.id(), 0, kSemvmx + 1)), ERANGE);
  EXPECT_EQ(failed_with(semctl_setval(s.id(), 0, -1)), ERANGE);
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

// semctl(2): GETPID returns sempid, the PID of the process that last operated on the semaphore.
TEST(SysvSem, GetpidReturnsLastOperator) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult r = run_in_child([&s] { return semop_one(s.id(), 0, 1) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  pid_t last = semctl_get(s.id(), 0, GETPID);
  EXPECT_NE(last, ::getpid());
  EXPECT_GT(last, 0);
  ASSERT_EQ(semop_one(s.id(), 0, -1), 0);
  EXPECT_EQ(semctl_get(s.id(), 0, GETPID), ::getpid());
}

// semctl(2) NOTES: Linux also updates sempid on SETVAL, and on SETALL since Linux 4.6.
TEST(SysvSem, SetvalAndSetallUpdateSempid) {
  CONFORM_MAN("semctl(2)");
  SemSet s(1);
  ASSERT_GE(s.id(), 0) << s.error();
  int id = s.id();
  ChildResult r = run_in_child([id] { return semctl_setval(id, 0, 2) == 0 ? 0 : errno; });
  ASSERT_EQ(r.describe(), exited_with(0));
  EXPECT_NE(semctl_get(id, 0, GETPID), ::getpid());
  unsigned short vals[1] = {4};
  SemArg a{};
  a.array = vals;
  ASSERT_EQ(::semctl(id, 0, SETALL, a), 0) << std::strerror(errno);
  EXPECT_EQ(semctl_get(id, 0, GETPID), ::getpid());
}

// semop(2)/semctl(2): a semid below zero, or an invalid cmd, fails with EINVAL.
TEST(SysvSem, InvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("semctl(2)");
  EXPECT_EQ(failed_with(semop_one(-1, 0, 1)), EINVAL);
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
  Cleanup sweep = sweep_key(Sysv::kSem, key);
  ChildResult r = unprivileged([key] {
    int id = ::semget(key, 1, IPC_CREAT | IPC_EXCL | 0200);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::semctl(id, 0, IPC_RMID); });
    if (semop_one(id, 0, 1) != 0) return 1;
    if (failed_with(semctl_get(id, 0)) != EACCES) return 2;
    semid_ds ds{};
    ds.sem_perm.uid = ::geteuid();
    ds.sem_perm.gid = ::getegid();
    ds.sem_perm.mode = 0400;
    SemArg a{};
    a.buf = &ds;
    if (::semctl(id, 0, IPC_SET, a) != 0) return 3;
    if (semctl_get(id, 0) != 1) return 4;
    return failed_with(semop_one(id, 0, 1)) == EACCES ? 0 : 5;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// semop(2)/semctl(2): another user without permission on a 0600 set gets EACCES.
TEST(SysvSem, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("semop(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  SemSet s(1, 0600);
  ASSERT_GE(s.id(), 0) << s.error();
  ChildResult up = as_nobody([&s] { return failed_with(semop_one(s.id(), 0, 1)); });
  EXPECT_EQ(up.describe(), exited_with(EACCES));
  ChildResult val = as_nobody([&s] { return failed_with(semctl_get(s.id(), 0)); });
  EXPECT_EQ(val.describe(), exited_with(EACCES));
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
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
