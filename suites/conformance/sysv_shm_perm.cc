// Do System V shared memory permissions behave as documented here (shmget(2), shmat(2),
// shmctl(2)): mode bits against the owner and another user, who may IPC_SET / IPC_RMID, and
// SHM_LOCK / SHM_UNLOCK. Every refusal has a positive control: the same call by an allowed user
// or with the needed mode bit succeeds.
#include <sys/ipc.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

constexpr int kCapIpcLock = 14;   // CAP_IPC_LOCK, capability(7)
constexpr int kCapIpcOwner = 15;  // CAP_IPC_OWNER
constexpr uid_t kNobody = 65534;
// shmat(2) of `id` with `flags`, detached again: 0 or the errno.
int attach_errno(int id, int flags) {
  void* p = ::shmat(id, nullptr, flags);
  if (p == kShmatFailed) return errno;
  ::shmdt(p);
  return 0;
}

// IPC_SET of segment `id` to owner `uid` and `mode` (by its owner or root): 0 or the errno.
int set_owner_mode(int id, uid_t uid, gid_t gid, mode_t mode) {
  shmid_ds ds{};
  ds.shm_perm.uid = uid;
  ds.shm_perm.gid = gid;
  ds.shm_perm.mode = static_cast<unsigned short>(mode);
  return failed_with(::shmctl(id, IPC_SET, &ds));
}

}  // namespace

// shmget(2): asking for access the mode does not grant (SHM_R, SHM_W or both on a mode-0
// segment) fails with EACCES, even for the creator and owner; asking for none (shmflg 0) finds
// the segment. Another user (nobody) is refused alike on root's mode-0 segment, and
// CAP_IPC_OWNER (root) bypasses the check.
TEST(SysvShm, GetMode0SegmentAskingAccessFailsEaccesEvenForOwner) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S06");
  auto refused = [](int id, key_t k) {
    for (int flags : {SHM_R, SHM_W, SHM_R | SHM_W}) {
      if (failed_with(::shmget(k, 0, flags)) != EACCES) return 1;
    }
    return ::shmget(k, 0, 0) == id ? 0 : 2;  // control: no access asked, the segment is found
  };
  ChildResult own = unprivileged_owner(Sysv::kShm, 0, refused);
  EXPECT_EQ(own.describe(), exited_with(0)) << "1: not EACCES; 2: shmflg 0 did not find it";
  if (!is_root() || !has_capability(kCapIpcOwner))
    CONFORM_SKIP("needs root (with CAP_IPC_OWNER) to check another user and the bypass");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size(), 0);
  ChildResult other = as_nobody([&seg, &refused] { return refused(seg.id(), seg.key()); });
  EXPECT_EQ(other.describe(), exited_with(0)) << "1: not EACCES; 2: shmflg 0 did not find it";
  EXPECT_EQ(::shmget(seg.key(), 0, SHM_R | SHM_W), seg.id()) << std::strerror(errno);
}

// shmat(2)/shmctl(2): mode bits bind the owner too: on a mode-0 segment IPC_STAT and both
// kinds of attach fail with EACCES; once IPC_SET (which needs ownership, not permission) grants
// read, IPC_STAT and a read-only attach work while a read-write attach still fails.
TEST(SysvShm, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S33");
  ChildResult r = unprivileged_owner(Sysv::kShm, 0, [](int id, key_t) {
    shmid_ds ds{};
    if (failed_with(::shmctl(id, IPC_STAT, &ds)) != EACCES) return 1;
    if (attach_errno(id, 0) != EACCES || attach_errno(id, SHM_RDONLY) != EACCES) return 2;
    if (set_owner_mode(id, ::geteuid(), ::getegid(), 0400) != 0) return 3;
    if (::shmctl(id, IPC_STAT, &ds) != 0 || (ds.shm_perm.mode & 0777) != 0400) return 4;
    if (attach_errno(id, SHM_RDONLY) != 0) return 5;
    return attach_errno(id, 0) == EACCES ? 0 : 6;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

namespace {

// Nobody's calls on root's segment need the permission its mode grants to others; without it,
// EACCES. Each case makes a 0600 segment and takes steps: root sets the mode (if the step names
// one), then nobody's call must give the step's errno:
//   - shmat(2): an attach needs read and write permission, SHM_RDONLY read permission: 0600
//     refuses both, 0604 allows only SHM_RDONLY, 0606 allows both;
//   - shmctl(2): IPC_STAT needs read permission: 0600 refuses it, 0604 allows it.
enum class Op { kAttach, kAttachReadOnly, kStat };
struct NobodyStep {
  int mode;  // the mode root sets first (0: unchanged)
  Op op;     // nobody's call
  int err;   // what it gives (0: success)
};
struct NobodyCase {
  CaseInfo info;
  NobodyStep steps[5];
  int nsteps;
};
void nobody_needs_permission(const NobodyCase& c) {
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size(), 0600);
  for (int i = 0; i < c.nsteps; ++i) {
    const NobodyStep& step = c.steps[i];
    if (step.mode != 0) {
      ASSERT_EQ(set_owner_mode(seg.id(), 0, 0, step.mode), 0);
    }
    ChildResult r = as_nobody([&seg, &step] {
      shmid_ds ds{};
      if (step.op == Op::kStat) return failed_with(::shmctl(seg.id(), IPC_STAT, &ds));
      return attach_errno(seg.id(), step.op == Op::kAttachReadOnly ? SHM_RDONLY : 0);
    });
    EXPECT_EQ(r.describe(), exited_with(step.err)) << "step " << i;
  }
}
// clang-format off
const NobodyCase kNobodyAccess[] = {
  {{"AttachWithoutPermissionFailsEacces", "shmat(2)", "S20"},
   {{0, Op::kAttach, EACCES}, {0, Op::kAttachReadOnly, EACCES}, {0604, Op::kAttach, EACCES},
    {0, Op::kAttachReadOnly, 0}, {0606, Op::kAttach, 0}}, 5},
  {{"StatByOtherUserWithoutReadFailsEacces", "shmctl(2)", "S38"},
   {{0, Op::kStat, EACCES}, {0604, Op::kStat, 0}}, 2},
};
// clang-format on

}  // namespace

CONFORM_CASES("SysvShm", kNobodyAccess, nobody_needs_permission);

// shmctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner (and lacks
// CAP_SYS_ADMIN) fail with EPERM, whatever the mode; once root makes nobody the owner, nobody's
// IPC_SET and IPC_RMID succeed.
TEST(SysvShm, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S39 S40");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size(), 0666);
  auto set = [&seg] {
    return as_nobody([&seg] { return set_owner_mode(seg.id(), kNobody, kNobody, 0640); });
  };
  auto rm = [&seg] {
    return as_nobody([&seg] { return failed_with(::shmctl(seg.id(), IPC_RMID, nullptr)); });
  };
  EXPECT_EQ(set().describe(), exited_with(EPERM));
  EXPECT_EQ(rm().describe(), exited_with(EPERM));
  EXPECT_EQ(::shmget(seg.key(), 0, 0), seg.id()) << "the segment is gone";
  ASSERT_EQ(set_owner_mode(seg.id(), kNobody, kNobody, 0600), 0) << "root makes nobody the owner";
  EXPECT_EQ(set().describe(), exited_with(0));
  EXPECT_EQ(shm_stat(seg.id()).shm_perm.mode & 0777, 0640u);
  EXPECT_EQ(rm().describe(), exited_with(0));
  EXPECT_EQ(failed_with(::shmget(seg.key(), 0, 0)), ENOENT) << "the owner's IPC_RMID failed";
}

// shmctl(2): SHM_LOCK and SHM_UNLOCK by a user that is neither owner nor creator, without
// CAP_IPC_LOCK, fail with EPERM; made the owner (with a non-zero RLIMIT_MEMLOCK), the same
// user may lock and unlock.
TEST(SysvShm, LockByNonOwnerFailsEperm) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S41");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size(), 0666);
  auto lock = [&seg](int cmd) {
    return as_nobody([&seg, cmd] {
      rlimit lim{};
      if (::getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur < page_size()) return kSkipCode;
      return failed_with(::shmctl(seg.id(), cmd, nullptr));
    });
  };
  ChildResult r = lock(SHM_LOCK);
  SKIP_IF_CHILD_SKIPPED(r, "RLIMIT_MEMLOCK is below a page: even an owner could not lock");
  EXPECT_EQ(r.describe(), exited_with(EPERM));
  EXPECT_EQ(lock(SHM_UNLOCK).describe(), exited_with(EPERM));
  EXPECT_FALSE(shm_stat(seg.id()).shm_perm.mode & SHM_LOCKED);
  ASSERT_EQ(set_owner_mode(seg.id(), kNobody, kNobody, 0600), 0) << "root makes nobody the owner";
  EXPECT_EQ(lock(SHM_LOCK).describe(), exited_with(0));
  EXPECT_TRUE(shm_stat(seg.id()).shm_perm.mode & SHM_LOCKED);
  EXPECT_EQ(lock(SHM_UNLOCK).describe(), exited_with(0));
}

// shmctl(2): the owner may SHM_LOCK its segment (SHM_LOCKED then shows in shm_perm.mode) and
// SHM_UNLOCK it (the bit clears): checked without privilege (within RLIMIT_MEMLOCK) and, as
// root, with CAP_IPC_LOCK.
TEST(SysvShm, OwnerLocksAndUnlocks) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S42");
  auto lock_cycle = [](int id) {
    shmid_ds ds{};
    if (::shmctl(id, SHM_LOCK, nullptr) != 0) return child_fail(1, "SHM_LOCK");
    if (::shmctl(id, IPC_STAT, &ds) != 0 || !(ds.shm_perm.mode & SHM_LOCKED)) return 2;
    if (::shmctl(id, SHM_UNLOCK, nullptr) != 0) return child_fail(3, "SHM_UNLOCK");
    if (::shmctl(id, IPC_STAT, &ds) != 0 || (ds.shm_perm.mode & SHM_LOCKED)) return 4;
    return 0;
  };
  ChildResult r = unprivileged_owner(Sysv::kShm, 0600, [&lock_cycle](int id, key_t) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_MEMLOCK, &lim) != 0 || lim.rlim_cur < page_size()) return kSkipCode;
    return lock_cycle(id);
  });
  SKIP_IF_CHILD_SKIPPED(r, "RLIMIT_MEMLOCK is below a page: an unprivileged owner cannot lock");
  EXPECT_EQ(r.describe(), exited_with(0));
  if (is_root() && has_capability(kCapIpcLock)) {
    IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
    EXPECT_EQ(lock_cycle(seg.id()), 0);
  }
}

}  // namespace ipcb::conform
