// Does shmctl(2) report System V segments as documented here: IPC_STAT after create and after
// removal, SHM_STAT by index, and the system-wide SHM_INFO / SHM_STAT_ANY view (checked in a
// child's private IPC namespace, so the counts are exactly the test's own segments).
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// The highest index in use (IPC_INFO's return), or -1.
int max_index() {
  shminfo info{};
  return ::shmctl(0, IPC_INFO, reinterpret_cast<shmid_ds*>(&info));
}

}  // namespace

// shmctl(2): after creation IPC_STAT gives shm_segsz = the size asked for, shm_cpid = the
// creator's pid, shm_ctime within the creation window (no attach yet: shm_nattch, shm_lpid,
// shm_atime and shm_dtime are 0); SHM_STAT of the segment's index returns its id and the same
// data.
TEST(SysvShm, StatAfterCreateAndShmStatByIndexAgree) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S31");
  const size_t size = 2 * page_size() + 10;
  time_t before = ipc_now();
  ShmSegment seg(size);
  time_t after = ipc_now();
  ASSERT_GE(seg.id(), 0) << seg.error();
  shmid_ds ds = shm_stat(seg.id());
  EXPECT_EQ(ds.shm_segsz, size);
  EXPECT_EQ(ds.shm_cpid, ::getpid());
  EXPECT_GE(ds.shm_ctime, before);
  EXPECT_LE(ds.shm_ctime, after);
  EXPECT_EQ(ds.shm_nattch, 0u);
  EXPECT_EQ(ds.shm_lpid, 0);
  EXPECT_EQ(ds.shm_atime, 0);
  EXPECT_EQ(ds.shm_dtime, 0);
  int top = max_index();
  ASSERT_GE(top, 0) << std::strerror(errno);
  int found = -1;
  shmid_ds by_index{};
  for (int i = 0; i <= top && found < 0; ++i) {
    if (::shmctl(i, SHM_STAT, &by_index) == seg.id()) found = i;
  }
  ASSERT_GE(found, 0) << "no index up to " << top << " gives the segment's id";
  EXPECT_EQ(by_index.shm_segsz, ds.shm_segsz);
  EXPECT_EQ(by_index.shm_cpid, ds.shm_cpid);
  EXPECT_EQ(by_index.shm_ctime, ds.shm_ctime);
  EXPECT_EQ(by_index.shm_perm.__key, seg.key());
  EXPECT_EQ(by_index.shm_perm.mode, ds.shm_perm.mode);
}

// shmctl(2): once a segment with no attaches is removed, its id is invalid at once: IPC_STAT
// fails with EINVAL.
TEST(SysvShm, StatOfRemovedSegmentFailsEinval) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S37");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  shmid_ds ds{};
  ASSERT_EQ(::shmctl(seg.id(), IPC_STAT, &ds), 0) << std::strerror(errno);
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::shmctl(seg.id(), IPC_STAT, &ds)), EINVAL);
}

// shmctl(2): SHM_INFO returns the highest index in use (one SHM_STAT_ANY accepts); the indexes
// SHM_STAT_ANY accepts number used_ids; shm_tot, shm_rss and shm_swp (pages) equal the sums of
// /proc/sysvipc/shm. SHM_STAT_ANY (Linux 4.17) needs no read permission: nobody gets EACCES from
// SHM_STAT on root's 0600 segment and the segment's id from SHM_STAT_ANY.
TEST(SysvShm, ShmInfoCountsAndShmStatAnyIgnoresPermission) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S45");
  if (!is_root()) CONFORM_SKIP("needs root to check SHM_STAT_ANY as another user (nobody)");
  ChildResult r = in_private_ipc_ns([] {
    const size_t pg = page_size();
    int a = ::shmget(IPC_PRIVATE, 3 * pg, IPC_CREAT | 0600);  // the namespace dies with us
    int b = ::shmget(IPC_PRIVATE, pg + 1, IPC_CREAT | 0644);
    int c = ::shmget(IPC_PRIVATE, pg, IPC_CREAT | 0);
    void* p = b < 0 ? kShmatFailed : ::shmat(b, nullptr, 0);
    if (a < 0 || c < 0 || p == kShmatFailed) return child_fail(kSetupFailed, "segments");
    static_cast<char*>(p)[0] = 1;  // one resident page
    shm_info si{};
    int top = ::shmctl(0, SHM_INFO, reinterpret_cast<shmid_ds*>(&si));
    if (top < 0) return child_fail(1, "SHM_INFO");
    shmid_ds ds{};
    if (::shmctl(top, SHM_STAT_ANY, &ds) < 0) {
      return errno == EINVAL && ::shmctl(a, IPC_STAT, &ds) == 0 ? kSkipCode : 2;
    }
    int valid = 0;
    for (int i = 0; i <= top; ++i) valid += ::shmctl(i, SHM_STAT_ANY, &ds) >= 0 ? 1 : 0;
    if (valid != si.used_ids || si.used_ids != 3) return mismatch(3, "used_ids", si.used_ids, 3);
    long long tot = 0, rss = 0, swp = 0;
    for (auto& row : sysvipc_rows(Sysv::kShm)) {
      tot += (row["size"] + static_cast<long long>(pg) - 1) / static_cast<long long>(pg);
      rss += row["rss"] / static_cast<long long>(pg);
      swp += row["swap"] / static_cast<long long>(pg);
    }
    if (static_cast<long long>(si.shm_tot) != tot) return mismatch(4, "shm_tot", si.shm_tot, tot);
    if (static_cast<long long>(si.shm_rss) != rss) return mismatch(5, "shm_rss", si.shm_rss, rss);
    if (static_cast<long long>(si.shm_swp) != swp) return mismatch(6, "shm_swp", si.shm_swp, swp);
    if (tot != 6 || rss < 1) return mismatch(7, "pages in /proc/sysvipc/shm", tot, 6);
    int index_of_a = -1;
    for (int i = 0; i <= top; ++i)
      index_of_a = ::shmctl(i, SHM_STAT_ANY, &ds) == a ? i : index_of_a;
    if (!drop_to_nobody()) return kSetupFailed;
    if (failed_with(::shmctl(index_of_a, SHM_STAT, &ds)) != EACCES) return 8;
    return ::shmctl(index_of_a, SHM_STAT_ANY, &ds) == a ? 0 : 9;
  });
  SKIP_IF_CHILD_SKIPPED(r,
                        "SHM_STAT_ANY is unknown (EINVAL) before Linux 4.17, or no private "
                        "IPC namespace could be made");
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: SHM_INFO failed; 2: SHM_STAT_ANY(max index) failed; 3-7: counts differ (stderr); 8: "
         "SHM_STAT as nobody not EACCES; 9: SHM_STAT_ANY as nobody did not give the id";
}

}  // namespace ipcb::conform
