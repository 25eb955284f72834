// Does a System V semaphore set (semget(2), semctl(2)) behave as documented here: lifetime,
// errors, limits and permissions (each refusal with a positive control). The operations
// (semop(2)/semtimedop(2)) are in sysv_sem_semop.cc and sysv_sem_undo.cc, status and values
// (semctl(2)) in sysv_sem_ctl.cc.
#include <sys/ipc.h>
#include <sys/sem.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr uid_t kNobody = 65534;
constexpr int kCapIpcOwner = 15;  // CAP_IPC_OWNER, capability(7)

// IPC_SET of set `id` to owner `uid` (gid alike) and `mode`: 0 or the errno.
int set_owner_mode(int id, uid_t uid, mode_t mode) {
  semid_ds ds{};
  ds.sem_perm.uid = uid;
  ds.sem_perm.gid = uid;
  ds.sem_perm.mode = static_cast<unsigned short>(mode);
  SemArg a{};
  a.buf = &ds;
  return failed_with(::semctl(id, 0, IPC_SET, a));
}

}  // namespace

// semget(2): IPC_CREAT|IPC_EXCL on a key that has a set fails with EEXIST.
TEST(SysvSem, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("semget(2)");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  EXPECT_EQ(failed_with(::semget(s.key(), 1, IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// semget(2): without IPC_CREAT, a key with no set fails with ENOENT.
TEST(SysvSem, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("semget(2)");
  EXPECT_EQ(failed_with(::semget(unique_key(), 1, 0600)), ENOENT);
}

// semget(2): creating a set with nsems below 0 or greater than SEMMSL (kernel.sem, first
// field) fails with EINVAL; exactly SEMMSL is allowed.
TEST(SysvSem, NsemsAboveSemmslFailsEinval) {
  CONFORM_MAN("semget(2)");
  CONFORM_ROWS("E05");
  long long semmsl = kernel_sem()[0];
  ASSERT_GT(semmsl, 0);
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kSem, key);
  EXPECT_EQ(failed_with(::semget(key, static_cast<int>(semmsl + 1), IPC_CREAT | 0600)), EINVAL);
  EXPECT_EQ(failed_with(::semget(key, -1, IPC_CREAT | 0600)), EINVAL);
  // The control: skipped where SEMMSL semaphores would be costly or beyond SEMMNS.
  if (semmsl > 65536 || semmsl > kernel_sem()[1] / 2) return;
  int id = ::semget(key, static_cast<int>(semmsl), IPC_CREAT | IPC_EXCL | 0600);
  EXPECT_GE(id, 0) << "exactly SEMMSL: " << std::strerror(errno);
}

// semget(2): opening an existing set with nsems larger than its size fails with EINVAL
// (0 is a "don't care").
TEST(SysvSem, OpenWithMoreSemsThanTheSetFailsEinval) {
  CONFORM_MAN("semget(2)");
  CONFORM_ROWS("E06");
  IPCB_SYSV_MAKE(SemSet, s, 2);
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
  IPCB_SYSV_MAKE(SemSet, s, 4);
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
  CONFORM_ROWS("E28");
  IPCB_SYSV_MAKE(SemSet, s, 1);
  ASSERT_EQ(::semctl(s.id(), 0, IPC_RMID), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::semget(s.key(), 0, 0)), ENOENT);
  EXPECT_EQ(failed_with(semop_one(s.id(), 0, 1)), EINVAL);
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

// semop(2)/semctl(2): mode bits bind the owner too: on a mode-0 set semop (an increment needs
// alter permission, a wait for zero read permission), GETVAL and IPC_STAT fail with EACCES;
// once IPC_SET (ownership, not permission) makes it 0600, all of them succeed.
TEST(SysvSem, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("semop(2)");
  CONFORM_ROWS("E10 E29");
  ChildResult r = unprivileged_owner(Sysv::kSem, 0, [](int id, key_t) {
    semid_ds ds{};
    SemArg a{};
    a.buf = &ds;
    if (failed_with(semop_one(id, 0, 1)) != EACCES) return 1;
    if (failed_with(semop_one(id, 0, 0)) != EACCES) return 2;
    if (failed_with(::semctl(id, 0, IPC_STAT, a)) != EACCES) return 3;
    if (failed_with(semctl_get(id, 0)) != EACCES) return 4;
    if (set_owner_mode(id, ::geteuid(), 0600) != 0) return 5;
    if (semop_one(id, 0, 1) != 0 || ::semctl(id, 0, IPC_STAT, a) != 0) return 6;
    return semctl_get(id, 0) == 1 ? 0 : 7;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1-4: not EACCES; 5: IPC_SET; 6-7: the control";
}

// semop(2)/semctl(2): another user needs alter permission to change a value and read
// permission to read it: nobody on root's 0600 set gets EACCES from both; with 0606 both work.
TEST(SysvSem, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("semop(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(SemSet, s, 1, 0600);
  auto up = [&s] { return as_nobody([&s] { return failed_with(semop_one(s.id(), 0, 1)); }); };
  auto val = [&s] { return as_nobody([&s] { return semctl_get(s.id(), 0) >= 0 ? 0 : errno; }); };
  EXPECT_EQ(up().describe(), exited_with(EACCES));
  EXPECT_EQ(val().describe(), exited_with(EACCES));
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
  ASSERT_EQ(set_owner_mode(s.id(), 0, 0606), 0);
  EXPECT_EQ(up().describe(), exited_with(0));
  EXPECT_EQ(val().describe(), exited_with(0));
  EXPECT_EQ(semctl_get(s.id(), 0), 1);
}

// semget(2): asking for access a mode-0 set does not grant (SEM_R|SEM_A, 0600) fails with
// EACCES, for its unprivileged owner and for another user (nobody on root's set); asking for
// none finds the set, and CAP_IPC_OWNER (root) bypasses the check.
TEST(SysvSem, GetMode0SetAskingAccessFailsEacces) {
  CONFORM_MAN("semget(2)");
  CONFORM_ROWS("E02");
  auto refused = [](int id, key_t k) {
    for (int flags : {0400, 0200, 0600}) {
      if (failed_with(::semget(k, 0, flags)) != EACCES) return 1;
    }
    return ::semget(k, 0, 0) == id ? 0 : 2;
  };
  ChildResult own = unprivileged_owner(Sysv::kSem, 0, refused);
  EXPECT_EQ(own.describe(), exited_with(0)) << "1: not EACCES; 2: semflg 0 did not find it";
  if (!is_root() || !has_capability(kCapIpcOwner))
    CONFORM_SKIP("needs root (with CAP_IPC_OWNER) to check another user and the bypass");
  IPCB_SYSV_MAKE(SemSet, s, 1, 0);
  ChildResult other = as_nobody([&s, &refused] { return refused(s.id(), s.key()); });
  EXPECT_EQ(other.describe(), exited_with(0)) << "1: not EACCES; 2: semflg 0 did not find it";
  EXPECT_EQ(::semget(s.key(), 0, 0600), s.id()) << std::strerror(errno);
}

// semctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM;
// once root makes nobody the owner, nobody's IPC_SET and IPC_RMID succeed.
TEST(SysvSem, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("semctl(2)");
  CONFORM_ROWS("E32");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(SemSet, s, 1, 0666);
  auto set = [&s] { return as_nobody([&s] { return set_owner_mode(s.id(), kNobody, 0640); }); };
  auto rm = [&s] { return as_nobody([&s] { return failed_with(::semctl(s.id(), 0, IPC_RMID)); }); };
  EXPECT_EQ(set().describe(), exited_with(EPERM));
  EXPECT_EQ(rm().describe(), exited_with(EPERM));
  EXPECT_EQ(::semget(s.key(), 0, 0), s.id()) << "the set is gone";
  ASSERT_EQ(set_owner_mode(s.id(), kNobody, 0600), 0) << "root makes nobody the owner";
  EXPECT_EQ(set().describe(), exited_with(0));
  EXPECT_EQ(rm().describe(), exited_with(0));
  EXPECT_EQ(failed_with(::semget(s.key(), 0, 0)), ENOENT) << "the owner's IPC_RMID failed";
}

}  // namespace ipcb::conform
