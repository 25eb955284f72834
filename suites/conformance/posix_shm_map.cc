// Conformance of mappings of POSIX shared memory objects (mmap(2) of a shm_open(3) descriptor):
// when the memory is freed, the object's end (SIGBUS, the partial last page), MAP_PRIVATE
// against MAP_SHARED across processes, and the memory-lock and address-space limits.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// An object of `size` bytes under a fresh name; its fd closed and its name unlinked on every path.
struct Object {
  std::string name = unique_name();
  Fd fd;
  Cleanup guard{[this] { ::shm_unlink(name.c_str()); }};
  bool create(size_t size) {
    fd.reset(::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
    return fd.get() >= 0 && ::ftruncate(fd.get(), static_cast<off_t>(size)) == 0;
  }
};

// Blocks in use on the filesystem of /dev/shm, or -1.
long long used_blocks() {
  struct statvfs v {};
  if (::statvfs("/dev/shm", &v) != 0) return -1;
  return static_cast<long long>(v.f_blocks - v.f_bfree);
}

// In a child with a private 4 MiB tmpfs on /dev/shm: an object filled with 1 MiB whose last
// reference goes in the order `drop_mapping_first`; returns 0 if its blocks stayed in use until
// the last reference went (and the data could be mapped again through a kept fd) and were then
// all freed.
int freed_after_last_reference(bool drop_mapping_first) {
  constexpr size_t kSize = 1024 * 1024;
  long long before = used_blocks();
  Object o;
  if (before < 0 || !o.create(kSize)) return child_fail(1, "create");
  auto m = std::make_unique<Mapping>(o.fd.get(), kSize);
  if (!m->ok()) return child_fail(2, "mmap");
  std::memset(m->bytes(), 'd', kSize);
  long long full = used_blocks();
  if (full - before < static_cast<long long>(kSize / 4096)) return 3;  // blocks of 4 KiB or more
  if (::shm_unlink(o.name.c_str()) != 0) return child_fail(4, "shm_unlink");
  if (drop_mapping_first) {
    m.reset();
    if (used_blocks() != full) return 5;  // the fd still holds the contents
    Mapping again(o.fd.get(), kSize, PROT_READ);
    if (!again.ok() || again.bytes()[kSize - 1] != 'd') return 6;
  } else {
    o.fd.reset();
    if (used_blocks() != full || m->bytes()[kSize - 1] != 'd') return 7;  // the mapping holds
  }
  o.fd.reset();
  m.reset();
  return used_blocks() == before ? 0 : 8;
}

// shm_unlink(3), shm_overview(7): after shm_unlink, the contents live while a descriptor or a
// mapping refers to the object: with the mapping removed, a new mmap of the kept fd sees the
// data; the memory is freed only when the last fd and mapping are gone (blocks of a private
// tmpfs, counted by statvfs(3)).
TEST(PosixShm, ContentsFreedOnlyAfterLastFdAndMapping) {
  CONFORM_MAN("shm_unlink(3)");
  CONFORM_ROWS("P19");
  for (bool mapping_first : {true, false}) {
    auto r = run_in_child([mapping_first] {
      if (!enter_private_namespaces(CLONE_NEWNS)) return kSkipCode;
      if (!mount_private_tmpfs("/dev/shm", 4 * 1024 * 1024)) return kSkipCode;
      return freed_after_last_reference(mapping_first);
    });
    SKIP_IF_CHILD_SKIPPED(r,
                          "cannot mount a private tmpfs on /dev/shm (no mount or user namespace)");
    EXPECT_CHILD_OK(r) << (mapping_first ? " mapping dropped first" : " fd closed first")
                       << " (5, 7: freed early; 6: data lost; 8: not freed)";
  }
}

// How a child that reads the byte at `p` ends.
ChildResult read_in_child(volatile char* p) {
  return run_in_child([p] { return *p == 0 ? 0 : 1; });
}

// mmap(2): SIGBUS on access to a page of the mapping that lies wholly beyond the end of the
// object (½ page object, 2 page mapping); the rest of the object's own page is accessible.
TEST(PosixShm, TouchPastObjectEndRaisesSigbus) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("P24");
  Object o;
  ASSERT_TRUE(o.create(kPage / 2)) << std::strerror(errno);
  Mapping m(o.fd.get(), 2 * kPage);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  EXPECT_CHILD_OK(read_in_child(m.bytes() + kPage / 2 + 1)) << " (the object's own page)";
  auto r = read_in_child(m.bytes() + kPage);
  EXPECT_EQ(r.signal, SIGBUS) << r.describe();
}

// mmap(2): the rest of the page holding the object's end reads as zero and a write there does not
// extend the object (read(2) at the end returns 0). The page also says such writes are not written
// out; tmpfs keeps them in its page instead: a new mapping sees them, and ftruncate(2) growing the
// object over them exposes them where ftruncate promises zeros. Linux's behaviour, recorded.
TEST(PosixShm, PartialLastPageReadsZeroTmpfsKeepsWritesPastEnd) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("P25");
  Object o;
  const size_t end = kPage / 2;
  ASSERT_TRUE(o.create(end)) << std::strerror(errno);
  {
    Mapping m(o.fd.get(), kPage);
    ASSERT_TRUE(m.ok()) << std::strerror(errno);
    EXPECT_EQ(std::vector<char>(m.bytes() + end, m.bytes() + kPage),
              std::vector<char>(kPage - end, 0));
    m.bytes()[end + 10] = 'z';
  }
  struct stat st {};
  ASSERT_EQ(::fstat(o.fd.get(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), end);
  char c = 0;
  EXPECT_EQ(::pread(o.fd.get(), &c, 1, static_cast<off_t>(end + 10)), 0) << "past the end";
  Mapping again(o.fd.get(), kPage, PROT_READ);
  ASSERT_TRUE(again.ok()) << std::strerror(errno);
  EXPECT_EQ(again.bytes()[end + 10], 'z') << "tmpfs now drops writes past the end (as documented)";
  ASSERT_EQ(::ftruncate(o.fd.get(), static_cast<off_t>(kPage)), 0);
  EXPECT_EQ(::pread(o.fd.get(), &c, 1, static_cast<off_t>(end + 10)), 1);
  EXPECT_EQ(c, 'z') << "ftruncate now zero-fills the grown part (as documented)";
}

// mmap(2): a write through a MAP_PRIVATE mapping of the object is not visible to another process
// that maps it; a write through MAP_SHARED is.
TEST(PosixShm, PrivateMappingWritesInvisibleToOtherProcesses) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("P26");
  Object o;
  ASSERT_TRUE(o.create(kPage)) << std::strerror(errno);
  std::string name = o.name;
  auto peer_reads = [&name] {
    return run_in_child([&name] {
      Fd fd(::shm_open(name.c_str(), O_RDONLY, 0));
      Mapping m(fd.get(), kPage, PROT_READ);
      if (!m.ok()) return 100;
      if (std::strcmp(m.bytes(), "shared") == 0) return 2;
      return m.bytes()[0] == '\0' ? 0 : 1;
    });
  };
  Mapping priv(o.fd.get(), kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_TRUE(priv.ok()) << std::strerror(errno);
  std::strcpy(priv.bytes(), "private");
  auto r = peer_reads();
  EXPECT_EQ(r.code, 0) << r.describe() << " (1: the private write is visible)";
  Mapping shared(o.fd.get(), kPage);
  ASSERT_TRUE(shared.ok()) << std::strerror(errno);
  std::strcpy(shared.bytes(), "shared");
  r = peer_reads();
  EXPECT_EQ(r.code, 2) << r.describe() << " (0: the shared write is not visible)";
}

// mmap(2): EAGAIN when, after mlockall(MCL_FUTURE), a mapping would lock more memory than
// RLIMIT_MEMLOCK allows. Checked without CAP_IPC_LOCK (as nobody when root) with a 64 KiB
// limit: 16 KiB maps, 1 MiB fails.
TEST(PosixShm, LockedFutureMappingOverMemlockLimitFailsEagain) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("P27");
  std::string name = unique_name();
  Cleanup unlink([&name] { ::shm_unlink(name.c_str()); });
  auto r = unprivileged([&name] {
    rlimit rl{64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_MEMLOCK, &rl) != 0) return child_fail(kSetupFailed, "setrlimit");
    Fd fd(::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
    if (fd.get() < 0 || ::ftruncate(fd.get(), 1024 * 1024) != 0) return child_fail(1, "object");
    // The system call itself: ASan's runtime makes the libc call a no-op (never locks its shadow).
    if (::syscall(SYS_mlockall, MCL_FUTURE) != 0) return child_fail(2, "mlockall");
    Mapping small(fd.get(), 16 * 1024);
    if (!small.ok()) return child_fail(3, "mmap 16 KiB");
    Mapping big(fd.get(), 1024 * 1024);
    return !big.ok() && errno == EAGAIN ? 0 : 4;
  });
  EXPECT_CHILD_OK(r) << " (3: the allowed mapping failed; 4: no EAGAIN)";
}

// This process's address space size (VmSize of /proc/self/status) in bytes, or 0.
size_t address_space_bytes() {
  std::ifstream f("/proc/self/status");
  std::string key;
  size_t kb = 0;
  while (f >> key) {
    if (key == "VmSize:" && f >> kb) return kb * 1024;
    f.ignore(1 << 20, '\n');
  }
  return 0;
}

// mmap(2), getrlimit(2): ENOMEM when a mapping would take the address space past RLIMIT_AS:
// one too large, a MAP_FIXED one at a free address, and the end of endless 1 MiB mappings of the
// object (all in a child whose limit is its size plus 8 MiB).
TEST(PosixShm, MappingPastAddressSpaceLimitFailsEnomem) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("P28");
  Object o;
  constexpr size_t kMiB = 1024 * 1024;
  ASSERT_TRUE(o.create(16 * kMiB)) << std::strerror(errno);
  int fd = o.fd.get();
  auto r = run_in_child([fd] {
    Mapping hole(-1, 16 * kMiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);  // a free address
    if (!hole.ok()) return child_fail(kSetupFailed, "reserve");
    char* at = hole.bytes();
    ::munmap(hole.p, hole.len);
    hole.p = MAP_FAILED;
    size_t vm = address_space_bytes();
    rlimit rl{vm + 8 * kMiB, vm + 8 * kMiB};
    if (vm == 0 || ::setrlimit(RLIMIT_AS, &rl) != 0) return child_fail(kSetupFailed, "RLIMIT_AS");
    if (failed_with(::mmap(nullptr, 16 * kMiB, PROT_READ, MAP_SHARED, fd, 0)) != ENOMEM) return 1;
    void* fixed = ::mmap(at, 16 * kMiB, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    if (failed_with(fixed) != ENOMEM) return 2;
    for (int i = 0; i < 9; ++i) {
      if (::mmap(nullptr, kMiB, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) {
        return errno == ENOMEM && i > 0 ? 0 : 3;
      }
    }
    return 4;  // more than 8 MiB mapped under the limit
  });
  EXPECT_CHILD_OK(r) << " (1: too large, 2: MAP_FIXED, 3: wrong errno, 4: no failure)";
}

}  // namespace
}  // namespace ipcb::conform
