// Does attaching System V shared memory (shmat(2), shmdt(2)) behave as documented here: address
// rules (SHM_RND, SHM_REMAP), read-only attaches, attach counts, fork and removed segments.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

void* const kFailed = reinterpret_cast<void*>(-1);  // shmat's error return

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// A page-aligned address range nothing is mapped at (reserved, then released).
char* free_range(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ::munmap(p, bytes);
  return static_cast<char*>(p);
}

}  // namespace

// shmctl(2) NOTES: Linux lets a process attach, by id, a segment marked for destruction.
TEST(SysvShm, AttachAfterIpcRmidAllowedOnLinux) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment first(seg.id());
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  ShmAttachment second(seg.id());
  EXPECT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
}

// shmat(2): on error shmat returns (void *) -1 with errno set; an invalid shmid is EINVAL.
TEST(SysvShm, ShmatBadIdReturnsMinusOneEinval) {
  CONFORM_MAN("shmat(2)");
  void* p = ::shmat(-1, nullptr, 0);
  int err = errno;
  EXPECT_EQ(p, kFailed);
  EXPECT_EQ(err, EINVAL);
}

// shmat(2): a shmaddr that is not page-aligned, without SHM_RND, fails with EINVAL.
TEST(SysvShm, ShmatUnalignedAddressWithoutRndFailsEinval) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  char* base = free_range(2 * page_size());
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(failed_with(::shmat(seg.id(), base + 1, 0)), EINVAL);
}

// shmat(2): with SHM_RND the address is rounded down to a multiple of SHMLBA.
TEST(SysvShm, ShmRndRoundsAddressDownToShmlba) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  const size_t lba = SHMLBA;
  char* base = free_range(3 * lba);
  ASSERT_NE(base, nullptr);
  char* want = base + lba;
  ShmAttachment a(seg.id(), SHM_RND, want + 1);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.data(), want);
}

// shmat(2): attaching over an existing mapping fails with EINVAL unless SHM_REMAP is given,
// which replaces the mapping.
TEST(SysvShm, ShmRemapReplacesExistingMapping) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  void* m =
      ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  Cleanup unmap([m] { ::munmap(m, page_size()); });
  static_cast<char*>(m)[0] = 'm';
  EXPECT_EQ(failed_with(::shmat(seg.id(), m, 0)), EINVAL);
  ShmAttachment a(seg.id(), SHM_REMAP, m);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a.data(), m);
  EXPECT_EQ(a.data()[0], 0);  // the segment's page, not the anonymous one
}

// shmat(2): SHM_REMAP with a NULL shmaddr fails with EINVAL.
TEST(SysvShm, ShmRemapWithNullAddressFailsEinval) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(failed_with(::shmat(seg.id(), nullptr, SHM_REMAP)), EINVAL);
}

// shmat(2): with SHM_RDONLY the segment is attached for reading only; a write faults (SIGSEGV).
TEST(SysvShm, ReadOnlyAttachFaultsOnWrite) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ChildResult r = run_in_child([&seg] {
    ::prctl(PR_SET_DUMPABLE, 0);  // no core file
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
    if (p == kFailed) return kSetupFailed;
    volatile char* c = static_cast<char*>(p);
    if (c[0] != 0) return 1;  // reading is allowed
    c[0] = 1;
    return 0;
  });
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe();
}

// shmdt(2): an address with no segment attached (or not page-aligned) fails with EINVAL.
TEST(SysvShm, ShmdtWithoutAttachmentFailsEinval) {
  CONFORM_MAN("shmdt(2)");
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::shmdt(page.get())), EINVAL);
  EXPECT_EQ(failed_with(::shmdt(static_cast<char*>(page.get()) + 1)), EINVAL);
}

// shmctl(2): shm_nattch counts current attaches; shmat increments it and shmdt decrements it.
TEST(SysvShm, AttachCountTracksAttachAndDetach) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
  ShmAttachment b(seg.id(), SHM_RDONLY);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
  a.detach();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
}

// shmat(2): after fork(2) the child inherits the attached segments (the attach count grows)
// and shares their memory with the parent.
TEST(SysvShm, ForkedChildInheritsAttachment) {
  CONFORM_MAN("shmat(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  ShmAttachment a(seg.id());
  ASSERT_TRUE(a.ok()) << a.error();
  ChildResult r = run_in_child([&] {
    shmid_ds ds{};
    if (::shmctl(seg.id(), IPC_STAT, &ds) != 0) return kSetupFailed;
    a.data()[0] = 'c';
    return static_cast<int>(ds.shm_nattch);
  });
  EXPECT_EQ(r.describe(), exited_with(2));
  EXPECT_EQ(a.data()[0], 'c');
}

// shmctl(2): shm_cpid is the creator's PID and shm_lpid the PID of the last shmat/shmdt.
TEST(SysvShm, CreatorAndLastAttachPidsRecorded) {
  CONFORM_MAN("shmctl(2)");
  ShmSegment seg(page_size());
  ASSERT_GE(seg.id(), 0) << seg.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_cpid, ::getpid());
  ChildResult r = run_in_child([&seg] {
    void* p = ::shmat(seg.id(), nullptr, 0);
    if (p == kFailed) return kSetupFailed;
    shmid_ds ds{};
    ::shmctl(seg.id(), IPC_STAT, &ds);
    return ds.shm_lpid == ::getpid() ? 0 : 1;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
  EXPECT_NE(shm_stat(seg.id()).shm_lpid, ::getpid());  // the child's exit detached last
}

}  // namespace ipcb::conform
