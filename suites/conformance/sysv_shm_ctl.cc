// Does shmctl(2) report System V segments as documented here: IPC_STAT after create and after
// removal, and SHM_STAT by index? (The system-wide SHM_INFO / SHM_STAT_ANY view is in
// sysv_stat_any.cc.)
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

}  // namespace ipcb::conform
