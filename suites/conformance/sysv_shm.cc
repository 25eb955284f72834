// Does System V shared memory (shmget(2), shmctl(2)) behave as documented here: lifetime and
// deferred destruction, errors and limits. Attaching (shmat(2), shmdt(2)) is in
// sysv_shm_attach.cc and sysv_shm_map.cc, permissions in sysv_shm_perm.cc, the *_STAT and *_INFO
// commands in sysv_shm_ctl.cc, SHM_HUGETLB in sysv_shm_huge.cc.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// kernel.shmmax, unsigned: its default (ULONG_MAX - 2^24) does not fit a long long.
std::optional<unsigned long long> shmmax() {
  return read_sysctl_u64("kernel.shmmax");
}

// shmget(2): the errors of a get or create:
//   - IPC_CREAT|IPC_EXCL on a key that has a segment fails with EEXIST;
//   - without IPC_CREAT, a key with no segment fails with ENOENT;
//   - creating a segment smaller than SHMMIN (1 byte) fails with EINVAL;
//   - creating a segment larger than SHMMAX (kernel.shmmax) fails with EINVAL;
//   - opening an existing segment with a size greater than its size fails with EINVAL; a size
//     up to its size succeeds (the positive control).
enum class Size { kZero, kPage, kPagePlusOne, kAboveShmmax };
struct ShmgetCase {
  CaseInfo info;
  bool existing;  // the key is that of a one-page segment (else a fresh key)
  Size size;
  int flags;
  int err;
  bool control = false;  // then shmget of the existing key with one page finds the segment
};
void shmget_fails(const ShmgetCase& c) {
  size_t size = c.size == Size::kZero          ? 0
                : c.size == Size::kPage        ? page_size()
                : c.size == Size::kPagePlusOne ? page_size() + 1
                                               : 0;
  if (c.size == Size::kAboveShmmax) {
    auto max = shmmax().value_or(0);
    if (max == 0) CONFORM_SKIP("kernel.shmmax is not readable");
    if (max >= SIZE_MAX) CONFORM_SKIP("kernel.shmmax is SIZE_MAX: no size is above it");
    size = max + 1;
  }
  std::optional<ShmSegment> seg;
  if (c.existing) {
    seg.emplace(page_size());
    ASSERT_GE(seg->id(), 0) << seg->error();
  }
  key_t key = seg ? seg->key() : unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  EXPECT_EQ(failed_with(::shmget(key, size, c.flags)), c.err);
  if (c.control) {
    EXPECT_EQ(::shmget(key, page_size(), 0600), seg->id());
  }
}
constexpr int kCreate = IPC_CREAT | IPC_EXCL | 0600;
// clang-format off
const ShmgetCase kShmget[] = {
  {{"ExclusiveCreateOnExistingKeyFailsEexist", "shmget(2)"}, true, Size::kPage, kCreate, EEXIST},
  {{"OpenMissingKeyWithoutCreateFailsEnoent", "shmget(2)"}, false, Size::kPage, 0600, ENOENT},
  {{"CreateBelowShmminFailsEinval", "shmget(2)", "S03"}, false, Size::kZero, kCreate, EINVAL},
  {{"CreateAboveShmmaxFailsEinval", "shmget(2)"}, false, Size::kAboveShmmax, kCreate, EINVAL},
  {{"OpenLargerThanExistingFailsEinval", "shmget(2)", "S05"}, true, Size::kPagePlusOne, 0600,
   EINVAL, true},
};
// clang-format on

}  // namespace

CONFORM_CASES("SysvShm", kShmget, shmget_fails);

// shmget(2): SHMMAX is the largest size allowed: exactly at it succeeds, one byte past fails
// with EINVAL. kernel.shmmax is lowered to 8192 in a child's own IPC namespace, so the host's
// value never changes.
TEST(SysvShm, CreateExactlyAtShmmaxSucceedsOnePastFails) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S04");
  ChildResult r = in_private_ipc_ns([] {
    if (!write_ipc_sysctl("shmmax", "8192")) return child_fail(kSetupFailed, "kernel.shmmax");
    // IPC_PRIVATE: nothing else lives in this namespace, and it goes with the child.
    int at = ::shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
    if (at < 0) return child_fail(1, "shmget of exactly shmmax bytes");
    ::shmctl(at, IPC_RMID, nullptr);
    return failed_with(::shmget(IPC_PRIVATE, 8193, IPC_CREAT | 0600)) == EINVAL ? 0 : 2;
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: at shmmax failed; 2: shmmax + 1 did not fail EINVAL";
}

// shmget(2): the contents of a new segment are initialised to zero.
TEST(SysvShm, NewSegmentIsZeroFilled) {
  CONFORM_MAN("shmget(2)");
  IPCB_SHM_ATTACHED(seg, a, 2 * page_size());
  for (size_t i = 0; i < 2 * page_size(); ++i) ASSERT_EQ(a.data()[i], 0) << "byte " << i;
}

// shmget(2): the size is rounded up to a multiple of PAGE_SIZE (the whole page is usable), while
// shm_segsz reports the size requested.
TEST(SysvShm, SizeRoundsUpToPageButSegszIsRequested) {
  CONFORM_MAN("shmget(2)");
  IPCB_SYSV_MAKE(ShmSegment, seg, 100);
  EXPECT_EQ(shm_stat(seg.id()).shm_segsz, 100u);
  IPCB_SHM_ATTACH(a, seg.id());
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
    void* p = id < 0 ? kShmatFailed : ::shmat(id, nullptr, 0);
    if (p == kShmatFailed) return kSetupFailed;
    std::strcpy(static_cast<char*>(p), "left behind");
    return 0;  // exits without shmdt or IPC_RMID
  });
  ASSERT_EQ(r.describe(), exited_with(0));
  int id = ::shmget(key, 0, 0);
  ASSERT_GE(id, 0) << "segment gone with its creator: " << std::strerror(errno);
  IPCB_SHM_ATTACH(a, id);
  EXPECT_STREQ(a.data(), "left behind");
  EXPECT_EQ(shm_stat(id).shm_nattch, 1u);  // the creator's attachment ended with it
}

// shmctl(2): IPC_RMID only marks an attached segment for destruction: IPC_STAT then shows
// SHM_DEST in shm_perm.mode and the key IPC_PRIVATE; it stays usable by those attached, and
// (shmctl(2) NOTES) Linux still lets a process attach it by id.
TEST(SysvShm, IpcRmidWhileAttachedDefersDestruction) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("U02");
  IPCB_SHM_ATTACHED(seg, a, page_size());
  a.data()[0] = 'x';
  EXPECT_FALSE(shm_stat(seg.id()).shm_perm.mode & SHM_DEST) << "SHM_DEST before IPC_RMID";
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  shmid_ds ds = shm_stat(seg.id());
  EXPECT_TRUE(ds.shm_perm.mode & SHM_DEST) << "mode " << std::oct << ds.shm_perm.mode;
  EXPECT_EQ(ds.shm_perm.__key, IPC_PRIVATE);
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(a.data()[0], 'x');
  a.data()[1] = 'y';
  EXPECT_EQ(a.data()[1], 'y');
  ShmAttachment again(seg.id());
  ASSERT_TRUE(again.ok()) << "shmat of the removed segment: " << again.error();
  EXPECT_EQ(again.data()[1], 'y');
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
}

// shmctl(2): once marked for destruction the segment's key becomes IPC_PRIVATE, so the old key
// no longer finds it.
TEST(SysvShm, RemovedSegmentKeyBecomesIpcPrivate) {
  CONFORM_MAN("shmctl(2)");
  IPCB_SHM_ATTACHED(seg, a, page_size());
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(shm_stat(seg.id()).shm_perm.__key, IPC_PRIVATE);
  EXPECT_EQ(failed_with(::shmget(seg.key(), 0, 0)), ENOENT);
}

// shmget(2)/shmctl(2): after IPC_RMID the key is free at once: a new shmget with it creates a
// new, zeroed segment, while the old one stays readable and writable, data intact, for those
// still attached.
TEST(SysvShm, CreateAfterIpcRmidMakesNewSegment) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S47");
  IPCB_SHM_ATTACHED(seg, old, page_size());
  old.data()[0] = 'o';
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  int fresh = ::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(fresh, 0) << std::strerror(errno);
  Cleanup rm([fresh] { ::shmctl(fresh, IPC_RMID, nullptr); });
  EXPECT_NE(fresh, seg.id());
  IPCB_SHM_ATTACH(now, fresh);
  EXPECT_EQ(now.data()[0], 0);
  EXPECT_EQ(old.data()[0], 'o');
  old.data()[1] = 'w';  // still writable, and not the new segment's memory
  EXPECT_EQ(old.data()[1], 'w');
  EXPECT_EQ(now.data()[1], 0);
}

// shmctl(2): a segment marked for destruction is destroyed when the last process detaches;
// its id is then invalid (EINVAL).
TEST(SysvShm, DestroyedAtLastDetach) {
  CONFORM_MAN("shmctl(2)");
  IPCB_SHM_ATTACHED(seg, a, page_size());
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  a.detach();
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, &ds)), EINVAL);
}

// shmctl(2): an invalid cmd (-1, or an unknown number) or an invalid shmid (-1) fails with
// EINVAL.
TEST(SysvShm, ShmctlInvalidIdOrCommandFailsEinval) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S35 S36");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  shmid_ds ds{};
  EXPECT_EQ(failed_with(::shmctl(seg.id(), -1, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::shmctl(seg.id(), 12345, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::shmctl(-1, IPC_STAT, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::shmctl(-1, IPC_SET, &ds)), EINVAL);
  EXPECT_EQ(failed_with(::shmctl(-1, IPC_RMID, nullptr)), EINVAL);
  EXPECT_EQ(::shmctl(seg.id(), IPC_STAT, &ds), 0) << "control: " << std::strerror(errno);
}

// shmctl(2): IPC_INFO reports the system limits: shmmin is 1, shmmax, shmmni and shmall are
// kernel.shmmax, kernel.shmmni and kernel.shmall; it returns the highest used index (>= 0 here).
TEST(SysvShm, IpcInfoReportsLimits) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S44");
  auto max = shmmax();
  auto all = read_sysctl_u64("kernel.shmall");
  auto mni = read_sysctl("kernel.shmmni");
  if (!max || !all || !mni) CONFORM_SKIP("kernel.shmmax, shmall or shmmni is not readable");
  ShmSegment seg(page_size());  // at least one index in use
  ASSERT_GE(seg.id(), 0) << seg.error();
  shminfo info{};
  int top = ::shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info));
  ASSERT_GE(top, 0) << std::strerror(errno);
  EXPECT_EQ(info.shmmin, 1u);
  EXPECT_EQ(static_cast<unsigned long long>(info.shmmax), *max);
  EXPECT_EQ(static_cast<unsigned long long>(info.shmall), *all);
  EXPECT_EQ(static_cast<long long>(info.shmmni), *mni);
}

// shmctl(2): IPC_SET by the owner clears the group and other bits of shm_perm.mode and
// updates shm_ctime. The kernel stamps whole seconds, so the call waits for the next one (up
// to a second) to see the time move.
TEST(SysvShm, IpcSetClearsModeBitsAndUpdatesCtime) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S43");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size(), 0666);
  shmid_ds ds = shm_stat(seg.id());
  ASSERT_EQ(ds.shm_perm.mode & 0777, 0666u);
  time_t created = ds.shm_ctime;
  sleep_past_second(created);
  ds.shm_perm.mode = 0600;
  time_t before = ipc_now();
  ASSERT_EQ(::shmctl(seg.id(), IPC_SET, &ds), 0) << std::strerror(errno);
  time_t after = ipc_now();
  shmid_ds now = shm_stat(seg.id());
  EXPECT_EQ(now.shm_perm.mode & 0777, 0600u);
  EXPECT_GT(now.shm_ctime, created);
  EXPECT_GE(now.shm_ctime, before);
  EXPECT_LE(now.shm_ctime, after);
}

}  // namespace ipcb::conform
