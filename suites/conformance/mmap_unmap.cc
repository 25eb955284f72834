// Conformance of munmap(2)'s errors and no-ops, the VMA count limit (vm.max_map_count) when a
// munmap splits a mapping, and a shared file mapping's hole once its filesystem is full.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// munmap(2): EINVAL for a length of 0, an address that is not page aligned, and a range outside
// the process address space (the last page of the 64-bit space). An aligned range succeeds.
TEST(MmapFile, MunmapBadRangeFailsEinval) {
  CONFORM_MAN("munmap(2)");
  CONFORM_ROWS("F29");
  Mapping m(-1, 2 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  EXPECT_EQ(failed_with(::munmap(m.p, 0)), EINVAL);
  EXPECT_EQ(failed_with(::munmap(m.bytes() + 1, kPage)), EINVAL);
  void* top = reinterpret_cast<void*>(-static_cast<intptr_t>(kPage));
  EXPECT_EQ(failed_with(::munmap(top, kPage)), EINVAL);
  EXPECT_EQ(::munmap(m.p, 2 * kPage), 0) << std::strerror(errno);
  m.p = MAP_FAILED;
}

// munmap(2): it is not an error if the range contains no mapped pages: 0, nothing else changes.
TEST(MmapFile, MunmapOfUnmappedRangeSucceeds) {
  CONFORM_MAN("munmap(2)");
  CONFORM_ROWS("F30");
  Mapping m(-1, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  m.bytes()[0] = m.bytes()[2 * kPage] = 'k';
  ASSERT_EQ(::munmap(m.bytes() + kPage, kPage), 0);
  EXPECT_EQ(::munmap(m.bytes() + kPage, kPage), 0) << std::strerror(errno);
  EXPECT_EQ(m.bytes()[0], 'k');
  EXPECT_EQ(m.bytes()[2 * kPage], 'k');
}

// In a child: makes VMAs until the kernel refuses one (the vm.max_map_count limit, Linux's
// mm->map_count), by splitting one reserved region with mprotect; then a munmap that would split
// `victim` in two must fail with ENOMEM, while one that removes a whole mapping succeeds.
int split_at_map_count_limit() {
  Mapping victim(-1, 3 * kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  Mapping whole(-1, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
  auto limit = read_sysctl("vm.max_map_count");
  if (!victim.ok() || !whole.ok() || !limit) return kSetupFailed;
  size_t pages = static_cast<size_t>(*limit) + 16;  // every other page becomes a VMA of its own
  Mapping region(-1, pages * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  if (!region.ok()) return kSetupFailed;
  size_t i = 1;
  for (; i < pages; i += 2) {
    if (::mprotect(region.bytes() + i * kPage, kPage, PROT_READ) != 0) break;
  }
  if (i >= pages || errno != ENOMEM) return 1;  // never refused, or refused otherwise
  if (failed_with(::munmap(victim.bytes() + kPage, kPage)) != ENOMEM) return 2;
  if (::munmap(whole.p, kPage) != 0) return 3;
  whole.p = MAP_FAILED;
  return 0;
}

// munmap(2): ENOMEM if unmapping a region in the middle of an existing mapping would exceed the
// process's maximum number of mappings (vm.max_map_count); a whole mapping can still go.
TEST(MmapFile, SplittingMunmapAtMapCountLimitFailsEnomem) {
  CONFORM_MAN("munmap(2)");
  CONFORM_ROWS("F31");
  auto limit = read_sysctl("vm.max_map_count");
  if (!limit) CONFORM_SKIP("vm.max_map_count not readable");
  if (*limit > 1 << 20) CONFORM_SKIP("vm.max_map_count above 1 Mi: too many mappings to make");
  auto r = run_in_child(split_at_map_count_limit, 20000);
  EXPECT_CHILD_OK(r) << " (1: no ENOMEM at the limit, 2: the splitting munmap did not fail, "
                        "3: the whole munmap failed)";
}

// In a child with a private 1 MiB tmpfs on /tmp: a sparse file mapped MAP_SHARED; once a second
// file has filled the filesystem (write(2) fails ENOSPC), a write into a hole of the mapping
// raises SIGBUS. A page touched before the filesystem filled up is still fine.
int hole_after_fill() {
  Fd sparse(::open("/tmp/sparse", O_RDWR | O_CREAT | O_EXCL, 0600));
  if (sparse.get() < 0 || ::ftruncate(sparse.get(), 256 * 1024) != 0) return child_fail(1, "file");
  Mapping m(sparse.get(), 256 * 1024);
  if (!m.ok()) return child_fail(2, "mmap");
  m.bytes()[0] = 'x';  // backed before the filesystem fills
  Fd filler(::open("/tmp/filler", O_RDWR | O_CREAT | O_EXCL, 0600));
  std::vector<char> chunk(64 * 1024, 'f');
  ssize_t n = 0;
  while ((n = ::write(filler.get(), chunk.data(), chunk.size())) > 0) {
  }
  if (n != -1 || errno != ENOSPC) return 3;
  auto early = run_in_child([&m] {
    m.bytes()[1] = 'y';
    return 0;
  });
  if (!early.exited || early.code != 0) return 4;
  auto hole = run_in_child([&m] {
    m.bytes()[128 * 1024] = 'h';
    return 0;
  });
  return hole.signal == SIGBUS ? 0 : 5;
}

// mmap(2): SIGBUS (not silent data loss) when a write through a shared mapping reaches a hole of
// the file that the full filesystem cannot back. Checked on a private 1 MiB tmpfs (through a user
// namespace when not root); a disk filesystem would need a loop device.
TEST(MmapFile, WriteToHoleOnFullFilesystemRaisesSigbus) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F27");
  auto r = run_in_child([] {
    if (!enter_private_namespaces(CLONE_NEWNS)) return kSkipCode;
    if (!mount_private_tmpfs("/tmp", 1024 * 1024)) return kSkipCode;
    return hole_after_fill();  // the mount and all in it vanish with this namespace
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot mount a private tmpfs (no mount or user namespace)");
  EXPECT_CHILD_OK(r) << " (3: no ENOSPC, 4: a backed page faulted, 5: no SIGBUS in the hole)";
}

}  // namespace
}  // namespace ipcb::conform
