// Conformance of msync(2) and of what a shared file mapping writes back: coherence with read(2)
// across processes, persistence past munmap, file times, MS_ASYNC / MS_INVALIDATE / MS_SYNC and
// their errors. MS_SYNC's effect is seen where Linux shows it: the page stops being dirty.
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/mapped_file.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
constexpr int kCapIpcLock = 14;  // CAP_IPC_LOCK, capability(7)

// Byte `i` of the test pattern.
char pattern(size_t i) {
  return static_cast<char>('a' + (i * 7 + i / 251) % 26);
}

// Dirty kilobytes (Shared_Dirty + Private_Dirty in /proc/self/smaps) of the mapping at `p`.
long dirty_kb(const void* p) {
  char head[32];
  std::snprintf(head, sizeof head, "%08lx-", reinterpret_cast<unsigned long>(p));
  std::ifstream f("/proc/self/smaps");
  std::string line;
  bool in = false;
  long kb = 0;
  while (std::getline(f, line)) {
    if (line.rfind(head, 0) == 0) {
      in = true;
    } else if (in &&
               (line.rfind("Shared_Dirty:", 0) == 0 || line.rfind("Private_Dirty:", 0) == 0)) {
      kb += std::atol(line.c_str() + line.find(':') + 1);
    } else if (in && line.rfind("VmFlags:", 0) == 0) {
      break;
    }
  }
  return kb;
}

// mmap(2), msync(2): bytes a child writes through its MAP_SHARED mapping of a file are all seen by
// read(2) of the file in the parent after msync(MS_SYNC) of the parent's own mapping.
TEST(MmapFile, ChildWritesThroughMappingReachReadAfterMsync) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F18");
  const size_t size = 4 * kPage;
  MappedFile f(size, size);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::string path = f.path;
  auto r = run_in_child([&path, size] {
    Fd fd(::open(path.c_str(), O_RDWR));
    Mapping m(fd.get(), size);
    if (!m.ok()) return child_fail(1, "mmap");
    for (size_t i = 0; i < size; ++i) m.bytes()[i] = pattern(i);
    return 0;
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  ASSERT_EQ(::msync(f.m.p, size, MS_SYNC), 0) << std::strerror(errno);
  std::string got = f.read_back(0, size);
  ASSERT_EQ(got.size(), size);
  for (size_t i = 0; i < size; ++i) ASSERT_EQ(got[i], pattern(i)) << "byte " << i;
}

// mmap(2), msync(2): a write through MAP_SHARED, msync(MS_SYNC), munmap and close: a new mapping
// through a new descriptor finds it, also once the clean page was dropped from the page cache
// (posix_fadvise DONTNEED), so it came from the file itself.
TEST(MmapFile, SharedWritesPersistAfterUnmapAndRemap) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F19");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  {
    Mapping m(f.fd, kPage);
    ASSERT_TRUE(m.ok()) << std::strerror(errno);
    std::strcpy(m.bytes() + 10, "persisted");
    ASSERT_EQ(::msync(m.p, kPage, MS_SYNC), 0) << std::strerror(errno);
  }
  ::close(f.fd);
  f.fd = ::open(f.path.c_str(), O_RDWR);
  ASSERT_GE(f.fd, 0) << std::strerror(errno);
  ASSERT_EQ(::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  Mapping again(f.fd, kPage, PROT_READ);
  ASSERT_TRUE(again.ok()) << std::strerror(errno);
  EXPECT_STREQ(again.bytes() + 10, "persisted");
}

// Waits until CLOCK_REALTIME_COARSE (the clock of file times) is past `t`, at most 1 s.
void wait_clock_past(const timespec& t) {
  for (int i = 0; i < 1000; ++i) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec > t.tv_nsec)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

bool later(const timespec& a, const timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

// mmap(2): st_atime may be marked for update at any time between mmap and the first access
// (Linux: at mmap); st_ctime and st_mtime of a file written through MAP_SHARED are updated by the
// time msync(MS_SYNC) returns. The file's times start three days old, so relatime updates too.
TEST(MmapFile, AccessAndWriteUpdateFileTimes) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F23");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  struct statvfs vfs {};
  ASSERT_EQ(::fstatvfs(f.fd, &vfs), 0);
  if (vfs.f_flag & ST_NOATIME) CONFORM_SKIP("the temporary directory is mounted noatime");
  timespec old[2] = {{::time(nullptr) - 3 * 86400, 0}, {::time(nullptr) - 3 * 86400, 0}};
  ASSERT_EQ(::futimens(f.fd, old), 0);
  struct stat before {
  }, read{}, synced{};
  ASSERT_EQ(::fstat(f.fd, &before), 0);
  Mapping m(f.fd, kPage);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  volatile char c = m.bytes()[0];
  (void)c;
  ASSERT_EQ(::fstat(f.fd, &read), 0);
  EXPECT_TRUE(later(read.st_atim, before.st_atim)) << "st_atime not marked by mmap and a read";
  wait_clock_past(before.st_ctim);
  m.bytes()[0] = 'w';
  ASSERT_EQ(::msync(m.p, kPage, MS_SYNC), 0);
  ASSERT_EQ(::fstat(f.fd, &synced), 0);
  EXPECT_TRUE(later(synced.st_mtim, before.st_mtim)) << "st_mtime not updated";
  EXPECT_TRUE(later(synced.st_ctim, before.st_ctim)) << "st_ctime not updated";
}

// msync(2): MS_ASYNC of part of a shared mapping and of all of it returns 0; read(2) of the file
// then shows the data written through the mapping.
TEST(MmapFile, MsAsyncOfPartOrAllSucceedsReadSeesData) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F32");
  MappedFile f(2 * kPage, 2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::strcpy(f.m.bytes(), "first");
  std::strcpy(f.m.bytes() + kPage, "second");
  EXPECT_EQ(::msync(f.m.bytes() + kPage, kPage, MS_ASYNC), 0) << std::strerror(errno);
  EXPECT_EQ(::msync(f.m.p, 2 * kPage, MS_ASYNC), 0) << std::strerror(errno);
  EXPECT_EQ(f.read_back(0, 5), "first");
  EXPECT_EQ(f.read_back(kPage, 6), "second");
}

// msync(2): MS_INVALIDATE returns 0 and leaves the mapping consistent with the file both ways: a
// write(2) to the file shows in the mapping, a write through the mapping shows in read(2).
TEST(MmapFile, MsInvalidateKeepsMappingConsistentWithFile) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F33");
  MappedFile f(kPage, kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  ASSERT_EQ(::pwrite(f.fd, "by write", 8, 0), 8);
  EXPECT_EQ(::msync(f.m.p, kPage, MS_INVALIDATE), 0) << std::strerror(errno);
  EXPECT_EQ(std::string(f.m.bytes(), 8), "by write");
  std::memcpy(f.m.bytes() + 100, "by mapping", 10);
  EXPECT_EQ(::msync(f.m.p, kPage, MS_SYNC | MS_INVALIDATE), 0) << std::strerror(errno);
  EXPECT_EQ(f.read_back(100, 10), "by mapping");
  EXPECT_EQ(std::string(f.m.bytes(), 8), "by write");
}

// msync(2): EBUSY if MS_INVALIDATE was given on a range that holds locked pages (MAP_LOCKED);
// MS_SYNC of it and MS_INVALIDATE of an unlocked mapping succeed.
TEST(MmapFile, MsInvalidateOfLockedRangeFailsEbusy) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F34");
  rlimit rl{};
  ::getrlimit(RLIMIT_MEMLOCK, &rl);
  if (!has_capability(kCapIpcLock) && rl.rlim_cur < 2 * kPage) {
    CONFORM_SKIP("RLIMIT_MEMLOCK below two pages and no CAP_IPC_LOCK: cannot lock a page");
  }
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  Mapping locked(f.fd, kPage, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED);
  ASSERT_TRUE(locked.ok()) << std::strerror(errno);
  EXPECT_EQ(failed_with(::msync(locked.p, kPage, MS_INVALIDATE)), EBUSY);
  EXPECT_EQ(::msync(locked.p, kPage, MS_SYNC), 0) << std::strerror(errno);
  Mapping plain(f.fd, kPage);
  ASSERT_TRUE(plain.ok()) << std::strerror(errno);
  EXPECT_EQ(::msync(plain.p, kPage, MS_INVALIDATE), 0) << std::strerror(errno);
}

// msync(2): EINVAL if flags has both MS_SYNC and MS_ASYNC, has a bit that is no MS_* flag, or
// addr is not a multiple of the page size. The same range with MS_SYNC succeeds.
TEST(MmapFile, MsyncBadFlagsOrAddressFailEinval) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F35");
  MappedFile f(kPage, kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(failed_with(::msync(f.m.p, kPage, MS_SYNC | MS_ASYNC)), EINVAL);
  constexpr int kUnknownFlag = 0x100;  // not MS_ASYNC (1), MS_INVALIDATE (2) or MS_SYNC (4)
  EXPECT_EQ(failed_with(::msync(f.m.p, kPage, MS_SYNC | kUnknownFlag)), EINVAL);
  EXPECT_EQ(failed_with(::msync(f.m.bytes() + 1, 1, MS_SYNC)), EINVAL);
  EXPECT_EQ(::msync(f.m.p, kPage, MS_SYNC), 0) << std::strerror(errno);
}

// msync(2): ENOMEM if the range, wholly or in part, was not mapped.
TEST(MmapFile, MsyncOfUnmappedRangeFailsEnomem) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F36");
  MappedFile f(2 * kPage, 2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(::msync(f.m.p, 2 * kPage, MS_SYNC), 0) << std::strerror(errno);
  ASSERT_EQ(::munmap(f.m.bytes() + kPage, kPage), 0);
  f.m.len = kPage;  // the guard unmaps only what is left
  EXPECT_EQ(failed_with(::msync(f.m.p, 2 * kPage, MS_SYNC)), ENOMEM) << "second page unmapped";
  EXPECT_EQ(failed_with(::msync(f.m.bytes() + kPage, kPage, MS_SYNC)), ENOMEM) << "all unmapped";
}

// msync(2): MS_SYNC writes the changed pages back and waits: a page written through the mapping is
// dirty (smaps) until msync(MS_SYNC), and clean when it returns. On a disk filesystem: tmpfs never
// writes back, so there the page stays dirty. MS_ASYNC (a no-op since Linux 2.6.19) leaves it.
TEST(MmapFile, MsSyncCleansDirtyPages) {
  CONFORM_MAN("msync(2)");
  CONFORM_ROWS("F37");
  TempFile f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  if (fs_type(f.fd) == TMPFS_MAGIC)
    CONFORM_SKIP("the temporary directory is on tmpfs: needs a disk filesystem");
  Mapping m(f.fd, kPage);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  m.bytes()[0] = 'd';
  EXPECT_GE(dirty_kb(m.p), static_cast<long>(kPage / 1024)) << "the written page is not dirty";
  ASSERT_EQ(::msync(m.p, kPage, MS_SYNC), 0) << std::strerror(errno);
  EXPECT_EQ(dirty_kb(m.p), 0) << "still dirty after msync(MS_SYNC)";
  EXPECT_EQ(f.read_back(0, 1), "d");
}

}  // namespace
}  // namespace ipcb::conform
