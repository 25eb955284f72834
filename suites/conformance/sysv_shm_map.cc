// Does an attached System V segment behave as documented here as part of the address space:
// across fork(2), concurrent attach/detach, exact attach counts, mprotect(2) splits, the
// program break (brk(2)), access after shmdt(2), and remap_file_pages(2) after IPC_RMID.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

unsigned long nattch(int id) {
  shmid_ds ds{};
  return ::shmctl(id, IPC_STAT, &ds) == 0 ? ds.shm_nattch : ~0UL;
}

}  // namespace

// shmat(2)/fork(2): a forked child inherits the parent's attachment: shm_nattch counts it (2),
// the child reads what the parent wrote and the parent sees what the child writes. A process
// that did not inherit one (forked before the attach) attaches by id and sees the same data.
TEST(SysvShm, ForkedChildInheritsAttachment) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S26");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  auto earlier = in_child_async([&seg, &rv] {
    if (!rv->go_wait()) return kSetupFailed;
    if (nattch(seg.id()) != 1) return 1;  // the parent's attach only: nothing was inherited
    void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
    if (p == kShmatFailed) return 2;
    if (nattch(seg.id()) != 2) return 3;
    return std::strcmp(static_cast<char*>(p), "parent") == 0 ? 0 : 4;
  });
  IPCB_SHM_ATTACH(a, seg.id());
  std::strcpy(a.data(), "parent");
  ChildResult inherited = run_in_child([&seg, &a] {
    if (nattch(seg.id()) != 2) return 1;
    if (std::strcmp(a.data(), "parent") != 0) return 2;
    std::strcpy(a.data() + 100, "child");
    return 0;
  });
  EXPECT_EQ(inherited.describe(), exited_with(0)) << "1: nattch not 2; 2: parent's data unseen";
  EXPECT_STREQ(a.data() + 100, "child");
  rv->go();
  EXPECT_EQ(earlier.get().describe(), exited_with(0));
}

// shmat(2)/shmdt(2): a parent and a child attaching and detaching the same segment in a loop at
// the same time never fail, and the count ends at 0.
TEST(SysvShm, ConcurrentAttachDetachNeverFails) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S27");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  auto loop = [id = seg.id()] {
    for (int i = 0; i < 1000; ++i) {
      void* p = ::shmat(id, nullptr, 0);
      if (p == kShmatFailed) return 1;
      static_cast<volatile char*>(p)[i % 64] = 1;
      if (::shmdt(p) != 0) return 2;
    }
    return 0;
  };
  auto child = in_child_async(loop);
  EXPECT_EQ(loop(), 0) << "1: shmat failed; 2: shmdt failed";
  EXPECT_EQ(child.get().describe(), exited_with(0));
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
}

// shmctl(2): shm_nattch is exact: 20 children attach (20), then detach (0); with the parent
// attached before forking, 20 children make it 21, their detaches 1, the parent's 0.
TEST(SysvShm, AttachCountExactAcrossManyProcesses) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S32");
  constexpr int kChildren = 20;
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  for (bool parent_attached : {false, true}) {
    SCOPED_TRACE(parent_attached ? "parent attached before fork" : "children attach");
    ShmAttachment mine(parent_attached ? seg.id() : -1);
    ASSERT_EQ(mine.ok(), parent_attached) << mine.error();
    SharedMemory<Rendezvous> rv;
    ASSERT_TRUE(rv.ok());
    std::vector<std::future<ChildResult>> kids;
    for (int i = 0; i < kChildren; ++i) {
      kids.push_back(in_child_async([&seg, &rv, &mine, parent_attached] {
        void* p = parent_attached ? mine.data() : ::shmat(seg.id(), nullptr, 0);
        if (p == kShmatFailed) return 1;
        rv->ready();
        if (!rv->go_wait()) return 2;
        return ::shmdt(p) == 0 ? 0 : 3;
      }));
    }
    ASSERT_TRUE(rv->wait_for(kChildren)) << rv->n.load() << " children ready";
    EXPECT_EQ(shm_stat(seg.id()).shm_nattch, kChildren + (parent_attached ? 1u : 0u));
    rv->go();
    for (auto& k : kids) EXPECT_EQ(k.get().describe(), exited_with(0));
    EXPECT_EQ(shm_stat(seg.id()).shm_nattch, parent_attached ? 1u : 0u);
    mine.detach();
    EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
  }
}

// shmat(2)/mprotect(2): mprotect splitting the attached mapping (a read-only middle page) and
// restoring it leaves no attach behind: shmdt succeeds, shm_nattch returns to 0 and no page of
// the segment stays mapped.
TEST(SysvShm, MprotectSplitThenShmdtLeavesNoAttach) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S22");
  const size_t pg = page_size();
  IPCB_SYSV_MAKE(ShmSegment, seg, 3 * pg);
  char* p = static_cast<char*>(::shmat(seg.id(), nullptr, 0));
  ASSERT_NE(p, kShmatFailed) << std::strerror(errno);
  Cleanup detach([p] { ::shmdt(p); });
  ASSERT_EQ(::mprotect(p + pg, pg, PROT_READ), 0) << std::strerror(errno);
  EXPECT_GE(shm_stat(seg.id()).shm_nattch, 1u);
  ASSERT_EQ(::mprotect(p + pg, pg, PROT_READ | PROT_WRITE), 0) << std::strerror(errno);
  for (size_t i = 0; i < 3; ++i) p[i * pg] = 'w';
  detach.dismiss();
  EXPECT_EQ(::shmdt(p), 0) << std::strerror(errno);
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
  unsigned char vec = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(failed_with(::mincore(p + i * pg, pg, &vec)), ENOMEM) << "page " << i << " mapped";
  }
}

// shmat(2)/brk(2): an attach over the heap below the program break fails with EINVAL; with a
// segment attached just above the break, growing the break into it (sbrk) fails with ENOMEM.
// In a child: its heap is changed.
TEST(SysvShm, AttachBelowBreakFailsAndBreakCannotGrowIntoSegment) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S25");
  const size_t pg = page_size();
  IPCB_SYSV_MAKE(ShmSegment, seg, pg);
  ChildResult r = run_in_child([&seg, pg] {
    if (::sbrk(static_cast<intptr_t>(pg)) == kShmatFailed) return kSetupFailed;  // a heap page
    auto brk = reinterpret_cast<uintptr_t>(::sbrk(0));
    auto below = reinterpret_cast<void*>((brk - 1) & ~(pg - 1));
    if (failed_with(::shmat(seg.id(), below, 0)) != EINVAL) return 1;
    auto above = reinterpret_cast<void*>(((brk + pg - 1) & ~(pg - 1)) + pg);
    void* p = ::shmat(seg.id(), above, 0);
    if (p != above) return child_fail(kSetupFailed, "attach above the break");
    if (::sbrk(static_cast<intptr_t>(4 * pg)) != kShmatFailed) return 2;
    return errno == ENOMEM ? 0 : 3;
  });
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: attach below the break not EINVAL; 2: sbrk grew into the segment; 3: not ENOMEM";
}

// shmdt(2): detaching returns 0 and shm_nattch drops to 0; the address is no longer mapped, so
// touching it raises SIGSEGV.
TEST(SysvShm, AccessAfterShmdtFaults) {
  CONFORM_MAN("shmdt(2)");
  CONFORM_ROWS("S28");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  ChildResult r = run_faulting_child([&seg] {
    auto* p = static_cast<volatile char*>(::shmat(seg.id(), nullptr, 0));
    if (p == kShmatFailed) return kSetupFailed;
    p[0] = 1;
    if (::shmdt(const_cast<char*>(p)) != 0) return 1;
    if (nattch(seg.id()) != 0) return 2;
    return p[0] == 1 ? 3 : 4;  // must not get here
  });
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe() << " (1: shmdt failed; 2: nattch not 0)";
}

// shmctl(2)/remap_file_pages(2): remapping the attach of a segment removed with IPC_RMID drops
// the last attach, so the segment is destroyed and the remap fails with EIDRM or EINVAL. A
// best-effort race of IPC_RMID plus re-create (same key) against remap_file_pages on the old
// attach gives only success, EIDRM or EINVAL, and nothing crashes.
TEST(SysvShm, RemapFilePagesOfRemovedSegmentFails) {
  CONFORM_MAN("shmctl(2)");
  CONFORM_ROWS("S48");
  const size_t pg = page_size();
  key_t key = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, key);
  ChildResult r = run_in_child([key, pg] {
    int id = ::shmget(key, 2 * pg, IPC_CREAT | IPC_EXCL | 0600);
    void* p = id < 0 ? kShmatFailed : ::shmat(id, nullptr, 0);
    if (p == kShmatFailed || ::shmctl(id, IPC_RMID, nullptr) != 0) return kSetupFailed;
    int err = failed_with(::remap_file_pages(p, 2 * pg, 0, 0, 0));
    if (err != EIDRM && err != EINVAL) return 1;
    shmid_ds ds{};
    if (failed_with(::shmctl(id, IPC_STAT, &ds)) != EINVAL) return 2;
    for (int i = 0; i < 200; ++i) {
      id = ::shmget(key, pg, IPC_CREAT | IPC_EXCL | 0600);
      p = id < 0 ? kShmatFailed : ::shmat(id, nullptr, 0);
      if (p == kShmatFailed) return kSetupFailed;
      std::atomic<int> remap_err{-1};
      std::thread remap([&] { remap_err = failed_with(::remap_file_pages(p, pg, 0, 0, 0)); });
      ::shmctl(id, IPC_RMID, nullptr);
      int again = ::shmget(key, pg, IPC_CREAT | IPC_EXCL | 0600);
      remap.join();
      if (again >= 0) ::shmctl(again, IPC_RMID, nullptr);
      if (remap_err == 0) ::shmdt(p);  // the old attach is still there
      if (remap_err != 0 && remap_err != EIDRM && remap_err != EINVAL) return 3;
    }
    return 0;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1: remap after RMID not EIDRM/EINVAL; 2: segment "
                                             "survived; 3: the race gave another errno";
}

}  // namespace ipcb::conform
