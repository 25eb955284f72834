// Does System V shared memory (shmget(2), shmctl(2)) behave as documented here: lifetime and
// deferred destruction, errors, limits and permissions. Attaching (shmat(2), shmdt(2)) is in
// sysv_shm_attach.cc.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

void* const kFailed = reinterpret_cast<void*>(-1);  // shmat's error return

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// kernel.shmmax, unsigned: its default (ULONG_MAX - 2^24) does not fit a long long.
std::optional<unsigned long long> shmmax() {
  return read_sysctl_u64("kernel.shmmax");
}

}  // namespace

// shmget(2): IPC_CREAT|IPC_EXCL on a key that has a segment fails with EEXIST.
TEST(SysvShm, ExclusiveCreateOnExistingKeyFailsEexist) {
  CONFORM_MAN("shmget(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600)), EEXIST);
}

// shmget(2): without IPC_CREAT, a key with no segment fails with ENOENT.
TEST(SysvShm, OpenMissingKeyWithoutCreateFailsEnoent) {
  CONFORM_MAN("shmget(2)");
  EXPECT_EQ(failed_with(::shmget(unique_key(), page_size(), 0600)), ENOENT);
}

// shmget(2): creating a segment smaller than SHMMIN (1 byte) fails with EINVAL.
TEST(SysvShm, CreateBelowShmminFailsEinval) {
  CONFORM_MAN("shmget(2)");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  EXPECT_EQ(failed_with(::shmget(key, 0, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): creating a segment larger than SHMMAX (kernel.shmmax) fails with EINVAL.
TEST(SysvShm, CreateAboveShmmaxFailsEinval) {
  CONFORM_MAN("shmget(2)");
  auto max = shmmax().value_or(0);
  if (max == 0) CONFORM_SKIP("kernel.shmmax is not readable");
  if (max >= SIZE_MAX) CONFORM_SKIP("kernel.shmmax is SIZE_MAX: no size is above it");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  EXPECT_EQ(failed_with(::shmget(key, max + 1, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): SHMMAX is the largest size allowed: exactly at it succeeds, one byte past fails.
TEST(SysvShm, CreateExactlyAtShmmaxSucceedsOnePastFails) {
  CONFORM_MAN("shmget(2)");
  constexpr long long kMax = 1 << 20;
  if (!is_root()) CONFORM_SKIP("needs root to lower kernel.shmmax to a reachable value");
  SysctlGuard guard("kernel.shmmax", kMax);
  if (!guard.ok()) CONFORM_SKIP("kernel.shmmax cannot be written (read-only /proc/sys?)");
  ShmSegment at(kMax);
  EXPECT_GE(at.id(), 0) << at.error();
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  EXPECT_EQ(failed_with(::shmget(key, kMax + 1, IPC_CREAT | IPC_EXCL | 0600)), EINVAL);
}

// shmget(2): opening an existing segment with a size greater than its size fails with EINVAL;
// a size up to its size succeeds.
TEST(SysvShm, OpenLargerThanExistingFailsEinval) {
  CONFORM_MAN("shmget(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmget(seg.key(), page_size() + 1, 0600)), EINVAL);
  EXPECT_EQ(::shmget(seg.key(), page_size(), 0600), seg.id());
}

// shmget(2): the contents of a new segment are initialised to zero.
TEST(SysvShm, NewSegmentIsZeroFilled) {
  CONFORM_MAN("shmget(2)");
  ShmSegment seg(2 * page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  for (size_t i = 0; i < 2 * page_size(); ++i) ASSERT_EQ(a.data()[i], 0) << "byte " << i;
}

// shmget(2): the size is rounded up to a multiple of PAGE_SIZE (the whole page is usable), while
// shm_segsz reports the size requested.
TEST(SysvShm, SizeRoundsUpToPageButSegszIsRequested) {
  CONFORM_MAN("shmget(2)");
  ShmSegment seg(100);
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_segsz, 100u);
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  a.data()[page_size() - 1] = 7;  // past the requested size, within the page: no fault
  EXPECT_EQ(a.data()[page_size() - 1], 7);
}

// shmget(2)/shmctl(2): a segment persists after its creator exits, contents included, until
// it is removed.
TEST(SysvShm, PersistsAfterCreatorExits) {
  CONFORM_MAN("shmget(2)");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  ChildResult r = run_in_child([key] {
    int id = ::shmget(key, page_size(), IPC_CREAT | IPC_EXCL | 0600);
    void* p = id < 0 ? kFailed : ::shmat(id, nullptr, 0);
    if (p == kFailed) return kSetupFailed;
    std::strcpy(static_cast<char*>(p), "left behind");
    return 0;  // exits without shmdt or IPC_RMID
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::shmget(key, 0, 0);
  ASSERT_GE(id, 0) << "segment gone with its creator: " << std::strerror(errno);
  ShmAttachment a(id);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_STREQ(a.data(), "left behind");
  EXPECT_EQ(shm_stat(id).shm_nattch, 1u);  // the creator's attachment ended with it
}

// shmctl(2): IPC_RMID only marks an attached segment for destruction (SHM_DEST); it stays
// usable by those attached until the last one detaches.
TEST(SysvShm, IpcRmidWhileAttachedDefersDestruction) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  a.data()[0] = 'x';
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  shmid_ds ds = shm_stat(seg.id());
  EXPECT_TRUE(ds.shm_perm.mode & SHM_DEST) << "mode " << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(a.data()[0], 'x');
  a.data()[1] = 'y';
  EXPECT_EQ(a.data()[1], 'y');
}

// shmctl(2): once marked for destruction the segment's key becomes IPC_PRIVATE, so the old key
// no longer finds it.
TEST(SysvShm, RemovedSegmentKeyBecomesIpcPrivate) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(shm_stat(seg.id()).shm_perm.__key, IPC_PRIVATE);
  EXPECT_EQ(failed_with(::shmget(seg.key(), 0, 0)), ENOENT);
}

// shmget(2)/shmctl(2): after IPC_RMID a new shmget with the same key creates a new, zeroed
// segment, while the old one lives on for those still attached.
TEST(SysvShm, CreateAfterIpcRmidMakesNewSegment) {
  CONFORM_MAN("shmget(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment old(seg.id());
  ASSERT_TRUE(old.ok()) << old.error();
  old.data()[0] = 'o';
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  int fresh = ::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(fresh, 0) << std::strerror(errno);
  Cleanup rm([fresh] { ::shmctl(fresh, IPC_RMID, nullptr); });
  EXPECT_NE(fresh, seg.id());
  ShmAttachment now(fresh);
  ASSERT_TRUE(now.ok()) << now.error();
  EXPECT_EQ(now.data()[0], 0);
  EXPECT_EQ(old.data()[0], 'o');
}

// shmctl(2): a segment marked for destruction is destroyed when the last process detaches;
// its id is then invalid (EINVAL).
TEST(SysvShm, DestroyedAtLastDetach) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  a.detach();
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, &ds)), EINVAL);
}

// shmctl(2): an invalid cmd fails with EINVAL.
TEST(SysvShm, ShmctlInvalidCommandFailsEinval) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), 12345, &ds)), EINVAL);
}

// shmctl(2): IPC_STAT into an inaccessible buffer fails with EFAULT.
TEST(SysvShm, IpcStatToBadBufferFailsEfault) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, static_cast<shmid_ds*>(page.get()))), EFAULT);
}

// shmctl(2): IPC_INFO reports the system limits; shmmax is kernel.shmmax.
TEST(SysvShm, IpcInfoReportsShmmax) {
  CONFORM_MAN("shmctl(2)");
  auto max = shmmax();
  if (!max) CONFORM_SKIP("kernel.shmmax is not readable");
  shminfo info{};
  ASSERT_GE(::shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info)), 0) << std::strerror(errno);
  EXPECT_EQ(static_cast<unsigned long long>(info.shmmax), *max);
}

// shmctl(2): IPC_SET by the owner changes the permission bits of shm_perm.mode.
TEST(SysvShm, IpcSetByOwnerChangesMode) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size(), 0600);
  ASSERT_GE(seg.id(), 0) << seg.error();
  shmid_ds ds = shm_stat(seg.id());
  ds.shm_perm.mode = 0640;
  ASSERT_EQ(::shmctl(seg.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  EXPECT_EQ(shm_stat(seg.id()).shm_perm.mode & 0777, 0640);
}

// shmat(2)/shmctl(2): mode bits bind the owner too: no write permission → a read-write attach
// fails with EACCES (read-only works); no read permission → IPC_STAT fails with EACCES.
TEST(SysvShm, OwnerWithoutPermissionGetsEacces) {
  CONFORM_MAN("shmat(2)");
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  ChildResult r = unprivileged([key] {
    int id = ::shmget(key, page_size(), IPC_CREAT | IPC_EXCL | 0400);
    if (id < 0) return kSetupFailed;
    Cleanup rm([id] { ::shmctl(id, IPC_RMID, nullptr); });
    if (failed_with(::shmat(id, nullptr, 0)) != EACCES) return 1;
    void* ro = ::shmat(id, nullptr, SHM_RDONLY);
    if (ro == kFailed) return 2;
    ::shmdt(ro);
    shmid_ds ds = {};
    ds.shm_perm.uid = ::geteuid();
    ds.shm_perm.gid = ::getegid();
    ds.shm_perm.mode = 0200;
    if (::shmctl(id, IPC_SET, &ds) != 0) return 3;
    return failed_with(::shmctl(id, IPC_STAT, &ds)) == EACCES ? 0 : 4;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
}

// shmget(2)/shmat(2): another user without permission on a 0600 segment gets EACCES.
TEST(SysvShm, OtherUserWithoutPermissionGetsEacces) {
  CONFORM_MAN("shmget(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  ShmSegment seg(page_size(), 0600);
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult get = as_nobody([&seg] { return failed_with(::shmget(seg.key(), 0, 0600)); });
  EXPECT_EQ(get.describe(), exited_with(EACCES));
  ChildResult at = as_nobody([&seg] { return failed_with(::shmat(seg.id(), nullptr, 0)); });
  EXPECT_EQ(at.describe(), exited_with(EACCES));
}

// shmctl(2): IPC_SET and IPC_RMID by a user that is neither creator nor owner fail with EPERM.
TEST(SysvShm, ControlByNonOwnerFailsEperm) {
  CONFORM_MAN("shmctl(2)");
  if (!is_root()) CONFORM_SKIP("needs root to act as a second user (nobody)");
  ShmSegment seg(page_size(), 0666);
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult set = as_nobody([&seg] {
    shmid_ds ds{};
    if (::shmctl(seg.id(), IPC_STAT, &ds) != 0) return kSetupFailed;
    return failed_with(::shmctl(seg.id(), IPC_SET, &ds));
  });
  EXPECT_EQ(set.describe(), exited_with(EPERM));
  ChildResult rm = as_nobody([&seg] { return failed_with(::shmctl(seg.id(), IPC_RMID, nullptr)); });
  EXPECT_EQ(rm.describe(), exited_with(EPERM));
  EXPECT_GE(::shmget(seg.key(), 0, 0), 0) << "the segment is gone";
}

}  // namespace ipcb::conform
