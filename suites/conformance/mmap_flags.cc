// Conformance of mmap(2)'s protections and flags on files and anonymous memory: read-only and
// exec mappings, /proc/self/maps, MAP_FIXED and MAP_FIXED_NOREPLACE, the file's end, MAP_POPULATE,
// MAP_LOCKED, MAP_HUGETLB without huge pages, and MAP_PRIVATE across fork.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/mapped_file.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
constexpr int kCapIpcLock = 14;  // CAP_IPC_LOCK, capability(7)

// How a child that reads (or writes) the byte at `p` ends.
ChildResult touch_in_child(volatile char* p, bool write = false) {
  return run_in_child([p, write] {
    if (write) {
      *p = 'w';
    } else {
      (void)*p;
    }
    return 0;
  });
}

// The permission field ("rw-p") of the /proc/self/maps line that starts at `p`, or "".
std::string maps_perms(const void* p) {
  char head[32];
  std::snprintf(head, sizeof head, "%08lx-", reinterpret_cast<unsigned long>(p));
  std::ifstream f("/proc/self/maps");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(head, 0) == 0) return line.substr(line.find(' ') + 1, 4);
  }
  return "";
}

// A value from /proc/self/status ("VmLck:") in kB, or -1.
long status_kb(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string k;
  while (f >> k) {
    long v = 0;
    if (k == key && f >> v) return v;
    f.ignore(1 << 20, '\n');
  }
  return -1;
}

// mmap(2): a PROT_READ, MAP_SHARED mapping of a descriptor open O_RDONLY succeeds and shows
// the file's contents.
TEST(MmapFile, ReadOnlyFdReadMappingShowsTheFile) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F02");
  TempFile w(0);
  ASSERT_TRUE(w.ok()) << std::strerror(errno);
  std::string text(kPage + 10, 'r');
  text[kPage] = 'X';
  ASSERT_EQ(::write(w.fd, text.data(), text.size()), static_cast<long>(text.size()));
  Fd ro(::open(w.path.c_str(), O_RDONLY));
  ASSERT_GE(ro.get(), 0) << std::strerror(errno);
  Mapping m(ro.get(), text.size(), PROT_READ, MAP_SHARED);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  EXPECT_EQ(std::string(m.bytes(), text.size()), text);
}

// mmap(2): PROT_EXEC mappings of a descriptor open O_RDONLY succeed (MAP_SHARED and
// MAP_PRIVATE); on x86 an exec-only page can be read and shows the file.
TEST(MmapFile, ExecMappingOfReadOnlyFdSucceeds) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F03");
  TempFile w(0);
  ASSERT_TRUE(w.ok()) << std::strerror(errno);
  struct statvfs vfs {};
  ASSERT_EQ(::fstatvfs(w.fd, &vfs), 0);
  if (vfs.f_flag & ST_NOEXEC) CONFORM_SKIP("the temporary directory is mounted noexec");
  ASSERT_EQ(::write(w.fd, "exec", 4), 4);
  Fd ro(::open(w.path.c_str(), O_RDONLY));
  ASSERT_GE(ro.get(), 0) << std::strerror(errno);
  for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
    Mapping m(ro.get(), kPage, PROT_EXEC, flags);
    ASSERT_TRUE(m.ok()) << std::strerror(errno) << " flags " << flags;
#if defined(__x86_64__) || defined(__i386__)
    auto r = run_in_child([&m] { return std::memcmp(m.bytes(), "exec", 4) == 0 ? 0 : 1; });
    EXPECT_CHILD_OK(r) << " (reading an exec-only page)";
#endif
  }
}

// mmap(2), proc(5): /proc/self/maps shows each anonymous mapping's protection and sharing as
// asked: every combination of PROT_READ, PROT_WRITE, PROT_EXEC with MAP_PRIVATE and MAP_SHARED.
TEST(MmapFile, AnonymousMappingPermissionsShownInMaps) {
  CONFORM_MAN("proc(5)");
  CONFORM_ROWS("F04");
  for (int prot = 0; prot < 8; ++prot) {
    for (int flags : {MAP_PRIVATE, MAP_SHARED}) {
      Mapping m(-1, kPage, prot, flags | MAP_ANONYMOUS);
      ASSERT_TRUE(m.ok()) << std::strerror(errno);
      std::string want = {(prot & PROT_READ) ? 'r' : '-', (prot & PROT_WRITE) ? 'w' : '-',
                          (prot & PROT_EXEC) ? 'x' : '-', flags == MAP_SHARED ? 's' : 'p'};
      EXPECT_EQ(maps_perms(m.p), want) << "prot " << prot;
    }
  }
}

// mmap(2): MAP_FIXED at the last page of the address space (beyond the user address range)
// fails; POSIX allows ENOMEM or EINVAL, Linux gives ENOMEM.
TEST(MmapFile, FixedMappingAtTopOfAddressSpaceFailsEnomem) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F13");
  void* top = reinterpret_cast<void*>(-static_cast<intptr_t>(kPage));
  // The system call itself: TSan's mmap interceptor refuses addresses outside its layout (EINVAL).
  long rc =
      ::syscall(SYS_mmap, top, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  EXPECT_EQ(rc == -1 ? errno : 0, ENOMEM);
}

// mmap(2): MAP_FIXED_NOREPLACE fails with EEXIST over an existing mapping (which stays); at a free
// address it maps exactly there.
TEST(MmapFile, FixedNoreplaceOverExistingMappingFailsEexist) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F14");
  Mapping there(-1, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_TRUE(there.ok()) << std::strerror(errno);
  there.bytes()[0] = 'k';
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
  EXPECT_EQ(failed_with(::mmap(there.p, kPage, PROT_READ, flags, -1, 0)), EEXIST);
  EXPECT_EQ(there.bytes()[0], 'k');
  ASSERT_EQ(::munmap(there.bytes() + kPage, kPage), 0);
  EXPECT_EQ(::mmap(there.bytes() + kPage, kPage, PROT_READ, flags, -1, 0), there.bytes() + kPage);
}

// mmap(2): SIGBUS on access to a page of a mapping longer than the file that lies wholly past its
// end (one-page file, two-page mapping); the file's own page is accessible.
TEST(MmapFile, AccessPastEndOfFileRaisesSigbus) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F16");
  MappedFile f(kPage, 2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_CHILD_OK(touch_in_child(f.m.bytes() + kPage - 1)) << " (last byte of the file)";
  auto r = touch_in_child(f.m.bytes() + kPage);
  EXPECT_EQ(r.signal, SIGBUS) << r.describe();
}

// ftruncate(2): a mapped file can be shrunk, grown and truncated to zero; each call succeeds and
// sets the size.
TEST(MmapFile, FtruncateWhileMappedSucceeds) {
  CONFORM_MAN("ftruncate(2)");
  CONFORM_ROWS("F17");
  MappedFile f(2 * kPage, 2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  f.m.bytes()[0] = 'm';
  for (size_t size : {kPage, 3 * kPage, size_t{0}}) {
    EXPECT_EQ(::ftruncate(f.fd, static_cast<off_t>(size)), 0) << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(::fstat(f.fd, &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), size);
  }
}

// mmap(2): MAP_FIXED over part of an earlier mapping replaces exactly the pages it covers.
TEST(MmapFile, FixedMappingReplacesWholePages) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F21");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::string file(kPage, 'f');
  ASSERT_EQ(::pwrite(f.fd, file.data(), kPage, 0), static_cast<long>(kPage));
  Mapping three(-1, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_TRUE(three.ok()) << std::strerror(errno);
  std::memset(three.bytes(), 'a', 3 * kPage);
  char* mid = three.bytes() + kPage;
  ASSERT_EQ(::mmap(mid, kPage, PROT_READ, MAP_SHARED | MAP_FIXED, f.fd, 0), mid);
  EXPECT_EQ(std::string(three.bytes(), kPage), std::string(kPage, 'a'));
  EXPECT_EQ(std::string(mid, kPage), file);
  EXPECT_EQ(std::string(mid + kPage, kPage), std::string(kPage, 'a'));
}

// mmap(2): the mapping holds its own reference to the file: after the descriptor is closed and
// the file unlinked it still works, in this process and in a forked child sharing it.
TEST(MmapFile, MappingSurvivesUnlinkAndClose) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F22");
  MappedFile f(kPage, kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::strcpy(f.m.bytes(), "before");
  ::close(f.fd);
  f.fd = -1;
  ASSERT_EQ(::unlink(f.path.c_str()), 0);
  auto r = run_in_child([&f] {
    if (std::strcmp(f.m.bytes(), "before") != 0) return 1;
    std::strcpy(f.m.bytes(), "after");
    return 0;
  });
  EXPECT_CHILD_OK(r);
  EXPECT_STREQ(f.m.bytes(), "after") << "the child's write through the shared mapping";
}

// mmap(2): with addr NULL the kernel chooses the address; it is never 0 (file and anonymous
// mappings alike).
TEST(MmapFile, KernelChosenAddressIsNeverZero) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F24");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::vector<std::unique_ptr<Mapping>> maps;
  for (int i = 0; i < 32; ++i) {
    maps.push_back(std::make_unique<Mapping>(i % 2 ? f.fd : -1, kPage, PROT_READ,
                                             i % 2 ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS));
    ASSERT_TRUE(maps.back()->ok()) << std::strerror(errno);
    EXPECT_NE(maps.back()->p, nullptr);
  }
}

// Pages of [p, p + n pages) marked present in /proc/self/pagemap (bit 63), or -1.
int present_pages(const void* p, size_t n) {
  Fd pm(::open("/proc/self/pagemap", O_RDONLY));
  if (pm.get() < 0) return -1;
  int present = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t e = 0;
    off_t at = static_cast<off_t>((reinterpret_cast<uintptr_t>(p) / kPage + i) * sizeof e);
    if (::pread(pm.get(), &e, sizeof e, at) != sizeof e) return -1;
    present += static_cast<int>(e >> 63);
  }
  return present;
}

// mmap(2): MAP_POPULATE prefaults the page tables of a file mapping: every page is present at
// once (/proc/self/pagemap; none is without it), and a fresh file's pages read zero.
TEST(MmapFile, PopulateMakesPagesPresent) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F25");
  constexpr size_t kPages = 8;
  TempFile f(kPages * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  Mapping lazy(f.fd, kPages * kPage, PROT_READ),
      eager(f.fd, kPages * kPage, PROT_READ, MAP_SHARED | MAP_POPULATE);
  ASSERT_TRUE(lazy.ok() && eager.ok()) << std::strerror(errno);
  int before = present_pages(lazy.p, kPages);
  if (before < 0) CONFORM_SKIP("/proc/self/pagemap is not readable here");
  EXPECT_EQ(before, 0) << "pages present without MAP_POPULATE";
  EXPECT_EQ(present_pages(eager.p, kPages), static_cast<int>(kPages));
  EXPECT_EQ(std::string(eager.bytes(), kPages * kPage), std::string(kPages * kPage, '\0'));
}

// mmap(2): MAP_LOCKED locks the pages of the mapping: VmLck grows by exactly its size (1 MiB).
TEST(MmapFile, LockedMappingGrowsVmLckByItsSize) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F26");
  rlimit rl{};
  ::getrlimit(RLIMIT_MEMLOCK, &rl);
  if (!has_capability(kCapIpcLock) && rl.rlim_cur < (2u << 20)) {
    CONFORM_SKIP("RLIMIT_MEMLOCK below 2 MiB and no CAP_IPC_LOCK: cannot lock 1 MiB");
  }
  auto r = run_in_child([] {
    long before = status_kb("VmLck:");
    Mapping m(-1, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED);
    if (!m.ok()) return child_fail(1, "mmap MAP_LOCKED");
    long after = status_kb("VmLck:");
    return before >= 0 && after - before == 1024 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r) << " (2: VmLck did not grow by 1024 kB)";
}

// mmap(2): ENOMEM for an anonymous MAP_HUGETLB mapping when no huge page of the default size is
// reserved or may be overcommitted; EINVAL for MAP_HUGETLB on a file not on hugetlbfs.
TEST(MmapFile, HugetlbWithoutHugePagesFails) {
  CONFORM_MAN("mmap(2)");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(failed_with(::mmap(nullptr, kPage, PROT_READ, MAP_SHARED | MAP_HUGETLB, f.fd, 0)),
            EINVAL);
  auto total = read_sysctl("vm.nr_hugepages"), over = read_sysctl("vm.nr_overcommit_hugepages");
  if (!total || !over) CONFORM_SKIP("vm.nr_hugepages not readable (no CONFIG_HUGETLBFS?)");
  if (*total != 0 || *over != 0) CONFORM_SKIP("huge pages are reserved here: ENOMEM not provoked");
  long huge = status_kb("Hugepagesize:");
  EXPECT_EQ(failed_with(::mmap(nullptr, 2 << 20, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0)),
            ENOMEM)
      << "huge page size " << huge << " kB";
}

// fork(2), mmap(2): a MAP_PRIVATE mapping is copied on write after fork: the child sees what the
// parent wrote before fork, and a write by either side stays its own (the file is unchanged).
TEST(MmapFile, PrivateMappingCopiedOnWriteAfterFork) {
  CONFORM_MAN("fork(2)");
  MappedFile f(kPage, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  f.m.bytes()[0] = 'p';
  PipeFds go;
  ASSERT_TRUE(go.ok);
  auto child = in_child_async([&f, &go] {
    if (f.m.bytes()[0] != 'p') return 1;
    f.m.bytes()[0] = 'c';
    char c;
    if (::read(go.r.get(), &c, 1) != 1) return 2;  // the parent has written by now
    return f.m.bytes()[0] == 'c' ? 0 : 3;
  });
  f.m.bytes()[1] = 'q';
  f.m.bytes()[0] = 'P';
  ASSERT_EQ(::write(go.w.get(), "g", 1), 1);
  ChildResult r = child.get();
  EXPECT_CHILD_OK(r) << " (1: the pre-fork write is missing; 3: the parent's write showed)";
  EXPECT_EQ(f.m.bytes()[0], 'P') << "the child's write showed in the parent";
  EXPECT_EQ(f.read_back(0, 2), std::string(2, '\0'));
}

}  // namespace
}  // namespace ipcb::conform
