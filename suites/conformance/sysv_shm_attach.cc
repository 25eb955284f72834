// Does attaching System V shared memory (shmat(2), shmdt(2)) behave as documented here: address
// rules (NULL, SHMLBA, SHM_RND, SHM_REMAP, overlaps), read-only attaches, attach counts and
// removed segments. Fork, mprotect, brk and detach faults are in sysv_shm_map.cc.
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// The name /proc/self/maps gives the mapping that starts at `p` ("" if none does).
std::string mapping_at(const void* p) {
  std::ifstream maps("/proc/self/maps");
  auto want = reinterpret_cast<uintptr_t>(p);
  for (std::string line; std::getline(maps, line);) {
    if (std::strtoull(line.c_str(), nullptr, 16) != want) continue;
    std::istringstream in(line);
    std::string field, name;
    for (int i = 0; i < 5; ++i) in >> field;  // range, perms, offset, device, inode
    in >> name;
    return name;
  }
  return "";
}

// How /proc/self/maps names an attached segment of `key`: "/SYSV" and the key in 8 hex digits.
std::string sysv_map_name(key_t key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/SYSV%08x", static_cast<unsigned>(key));
  return buf;
}

// A page-aligned address range nothing is mapped at (reserved, then released).
char* free_range(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ::munmap(p, bytes);
  return static_cast<char*>(p);
}

// shmat(2): on error shmat returns (void *) -1 with errno set to EINVAL for
//   - an invalid shmid (-1);
//   - a shmaddr that is not page-aligned, without SHM_RND;
//   - SHM_REMAP with a NULL shmaddr.
enum class Addr { kNull, kUnaligned };
struct ShmatCase {
  CaseInfo info;
  bool bad_id;  // shmid -1 (else a one-page segment's)
  Addr addr;
  int flags;
};
void shmat_fails_einval(const ShmatCase& c) {
  std::optional<ShmSegment> seg;
  int id = -1;
  if (!c.bad_id) {
    seg.emplace(page_size());
    ASSERT_GE(seg->id(), 0) << seg->error();
    id = seg->id();
  }
  char* addr = nullptr;
  if (c.addr == Addr::kUnaligned) {
    char* base = free_range(2 * page_size());
    ASSERT_NE(base, nullptr);
    addr = base + 1;
  }
  void* p = ::shmat(id, addr, c.flags);
  int err = errno;
  Cleanup detach([p] {
    if (p != kShmatFailed) ::shmdt(p);
  });
  EXPECT_EQ(p, kShmatFailed);
  EXPECT_EQ(err, EINVAL);
}
// clang-format off
const ShmatCase kShmatEinval[] = {
  {{"ShmatBadIdReturnsMinusOneEinval", "shmat(2)", "S18"}, true, Addr::kNull, 0},
  {{"ShmatUnalignedAddressWithoutRndFailsEinval", "shmat(2)", "S19"}, false, Addr::kUnaligned, 0},
  {{"ShmRemapWithNullAddressFailsEinval", "shmat(2)"}, false, Addr::kNull, SHM_REMAP},
};
// clang-format on

// shmat(2): an shmaddr that is a multiple of SHMLBA is used as it is, without SHM_RND; with
// SHM_RND an address past it (by one byte) is rounded down to that multiple of SHMLBA.
struct ShmatAtCase {
  CaseInfo info;
  int flags;
  size_t past;  // how far past the SHMLBA multiple the shmaddr given lies
};
void attaches_at_shmlba_multiple(const ShmatAtCase& c) {
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  char* base = free_range(3 * SHMLBA);
  ASSERT_NE(base, nullptr);
  char* want = base + SHMLBA;
  IPCB_SHM_ATTACH(a, seg.id(), c.flags, want + c.past);
  EXPECT_EQ(a.data(), want);
}
const ShmatAtCase kShmatAt[] = {
    {{"ShmRndRoundsAddressDownToShmlba", "shmat(2)", "S16"}, SHM_RND, 1},
    {{"AlignedAddressIsUsedExactly", "shmat(2)", "S15"}, 0, 0},
};

}  // namespace

CONFORM_CASES("SysvShm", kShmatEinval, shmat_fails_einval);
CONFORM_CASES("SysvShm", kShmatAt, attaches_at_shmlba_multiple);

// shmctl(2) NOTES: Linux lets a process attach, by id, a segment marked for destruction.
TEST(SysvShm, AttachAfterIpcRmidAllowedOnLinux) {
  CONFORM_MAN("shmctl(2)");
  IPCB_SHM_ATTACHED(seg, first, page_size());
  ASSERT_EQ(::shmctl(seg.id(), IPC_RMID, nullptr), 0) << std::strerror(errno);
  ShmAttachment second(seg.id());
  EXPECT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
}

// shmat(2): attaching over an existing mapping fails with EINVAL unless SHM_REMAP is given,
// which replaces the mapping.
TEST(SysvShm, ShmRemapReplacesExistingMapping) {
  CONFORM_MAN("shmat(2)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  void* m =
      ::mmap(nullptr, page_size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  Cleanup unmap([m] { ::munmap(m, page_size()); });
  static_cast<char*>(m)[0] = 'm';
  EXPECT_EQ(failed_with(::shmat(seg.id(), m, 0)), EINVAL);
  IPCB_SHM_ATTACH(a, seg.id(), SHM_REMAP, m);
  EXPECT_EQ(a.data(), m);
  EXPECT_EQ(a.data()[0], 0);  // the segment's page, not the anonymous one
}

// shmat(2): with SHM_RDONLY the segment is attached for reading only; a write faults (SIGSEGV).
TEST(SysvShm, ReadOnlyAttachFaultsOnWrite) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S17");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  ChildResult r = run_faulting_child([&seg] {
    void* p = ::shmat(seg.id(), nullptr, SHM_RDONLY);
    if (p == kShmatFailed) return kSetupFailed;
    volatile char* c = static_cast<char*>(p);
    if (c[0] != 0) return 1;  // reading is allowed
    c[0] = 1;
    return 0;
  });
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe();
}

// shmdt(2): an address where no segment is attached fails with EINVAL: an inaccessible
// anonymous page, and the address of a segment already detached.
TEST(SysvShm, ShmdtWithoutAttachmentFailsEinval) {
  CONFORM_MAN("shmdt(2)");
  CONFORM_ROWS("S29");
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::shmdt(page.get())), EINVAL);
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  void* p = ::shmat(seg.id(), nullptr, 0);
  ASSERT_NE(p, kShmatFailed) << std::strerror(errno);
  ASSERT_EQ(::shmdt(p), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::shmdt(p)), EINVAL);
}

// shmdt(2): an address that is not page aligned fails with EINVAL, even inside an attached
// segment, which stays attached.
TEST(SysvShm, ShmdtUnalignedAddressFailsEinval) {
  CONFORM_MAN("shmdt(2)");
  CONFORM_ROWS("S30");
  IPCB_SHM_ATTACHED(seg, a, page_size());
  EXPECT_EQ(failed_with(::shmdt(a.data() + 1)), EINVAL);
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
}

// shmat(2): with a NULL shmaddr the kernel picks an unused, page-aligned address (the mapping
// there is the segment's, named SYSV<key> in /proc/self/maps); shm_nattch becomes 1 and
// shm_segsz is the size asked for.
TEST(SysvShm, NullAddressAttachesWhereKernelChooses) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S14");
  const size_t size = 3 * page_size() + 100;
  IPCB_SHM_ATTACHED(seg, a, size);
  auto at = reinterpret_cast<uintptr_t>(a.data());
  EXPECT_EQ(at % SHMLBA, 0u);
  EXPECT_EQ(mapping_at(a.data()), sysv_map_name(seg.key()));
  shmid_ds ds = shm_stat(seg.id());
  EXPECT_EQ(ds.shm_nattch, 1u);
  EXPECT_EQ(ds.shm_segsz, size);
}

// shmat(2): SHM_RND|SHM_REMAP with shmaddr 1 rounds down to 0; Linux refuses that with EINVAL
// (since 4.15) rather than map the NULL page. A mapping away from the first 64 KiB would also
// be safe; one at the NULL page never is. Run in a child, the worst case being root.
TEST(SysvShm, RemapRoundedToNullIsRefused) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S21");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  ChildResult r = run_in_child([&seg] {
    void* p = ::shmat(seg.id(), reinterpret_cast<void*>(1), SHM_RND | SHM_REMAP);
    if (p == kShmatFailed) return errno == EINVAL ? 0 : 1;
    return reinterpret_cast<uintptr_t>(p) >= 0x10000 ? 0 : 2;  // the child's exit detaches it
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "1: failed, not with EINVAL; 2: mapped below 64 KiB";
}

// shmat(2): an address overlapping an attached segment, without SHM_REMAP, fails with EINVAL
// (at the same address and one page into it); the first attach is unchanged.
TEST(SysvShm, AttachOverAttachedSegmentFailsEinval) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S23");
  IPCB_SYSV_MAKE(ShmSegment, first, 2 * page_size());
  IPCB_SYSV_MAKE(ShmSegment, second, page_size());
  IPCB_SHM_ATTACH(a, first.id());
  a.data()[0] = 'f';
  EXPECT_EQ(failed_with(::shmat(second.id(), a.data(), 0)), EINVAL);
  EXPECT_EQ(failed_with(::shmat(second.id(), a.data() + page_size(), 0)), EINVAL);
  EXPECT_EQ(a.data()[0], 'f');
  EXPECT_EQ(shm_stat(second.id()).shm_nattch, 0u);
}

// shmat(2): one process may attach a segment twice, at two addresses: a write through either
// view shows in the other, and both detach (shm_nattch 2, then 0).
TEST(SysvShm, SameSegmentAttachedTwiceSharesData) {
  CONFORM_MAN("shmat(2)");
  CONFORM_ROWS("S24");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  void* p1 = ::shmat(seg.id(), nullptr, 0);
  void* p2 = ::shmat(seg.id(), nullptr, 0);
  ASSERT_NE(p1, kShmatFailed);
  ASSERT_NE(p2, kShmatFailed);
  Cleanup detach([p1, p2] {
    ::shmdt(p1);
    ::shmdt(p2);
  });
  ASSERT_NE(p1, p2);
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
  static_cast<char*>(p1)[10] = 'a';
  EXPECT_EQ(static_cast<char*>(p2)[10], 'a');
  static_cast<char*>(p2)[20] = 'b';
  EXPECT_EQ(static_cast<char*>(p1)[20], 'b');
  detach.dismiss();
  EXPECT_EQ(::shmdt(p1), 0) << std::strerror(errno);
  EXPECT_EQ(::shmdt(p2), 0) << std::strerror(errno);
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
}

// shmctl(2): shm_nattch counts current attaches; shmat increments it and shmdt decrements it.
TEST(SysvShm, AttachCountTracksAttachAndDetach) {
  CONFORM_MAN("shmctl(2)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
  IPCB_SHM_ATTACH(a, seg.id());
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
  IPCB_SHM_ATTACH(b, seg.id(), SHM_RDONLY);
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 2u);
  a.detach();
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
}

// shmctl(2): shm_cpid is the creator's PID and shm_lpid the PID of the last shmat/shmdt: the
// child's, after it attached, and still the child's after its exit detached it.
TEST(SysvShm, CreatorAndLastAttachPidsRecorded) {
  CONFORM_MAN("shmctl(2)");
  IPCB_SYSV_MAKE(ShmSegment, seg, page_size());
  EXPECT_EQ(shm_stat(seg.id()).shm_cpid, ::getpid());
  EXPECT_EQ(shm_stat(seg.id()).shm_lpid, 0);
  SharedMemory<std::atomic<pid_t>> child;
  ASSERT_TRUE(child.ok());
  ChildResult r = run_in_child([&seg, &child] {
    child->store(::getpid());
    void* p = ::shmat(seg.id(), nullptr, 0);
    if (p == kShmatFailed) return kSetupFailed;
    shmid_ds ds{};
    ::shmctl(seg.id(), IPC_STAT, &ds);
    return ds.shm_lpid == ::getpid() && ds.shm_cpid != ::getpid() ? 0 : 1;
  });
  EXPECT_EQ(r.describe(), exited_with(0));
  EXPECT_EQ(shm_stat(seg.id()).shm_lpid, child->load());
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 0u);
}

}  // namespace ipcb::conform
