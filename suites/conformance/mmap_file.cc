// Conformance of file mappings (mmap(2), msync(2), munmap(2)): argument errors, access checks,
// MAP_SHARED vs MAP_PRIVATE visibility, faults (SIGSEGV, SIGBUS) and the file's end.
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// A file of the given size in a private temporary directory (posix_helpers.h).
using File = TempFile;

// errno of a failed mmap, or 0 if it succeeded (the mapping is then removed).
int map_errno(int fd, size_t n, int prot, int flags, off_t off = 0) {
  Mapping m(fd, n, prot, flags, off);
  return m.ok() ? 0 : errno;
}

// How a child that touches `p` (writing if `write`) ends.
ChildResult touch_in_child(volatile char* p, bool write) {
  return run_in_child([p, write] {
    if (write) {
      *p = 'w';
    } else {
      (void)*p;
    }
    return 0;
  });
}

// mmap(2): EINVAL (since Linux 2.6.12) if length was 0.
TEST(MmapFile, ZeroLengthFailsEinval) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F08");
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(map_errno(f.fd, 0, PROT_READ, MAP_SHARED), EINVAL);
}

// mmap(2): EINVAL if flags contained none of MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE.
TEST(MmapFile, NeitherSharedNorPrivateFailsEinval) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F09");
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ, 0), EINVAL);
}

// mmap(2): EINVAL if offset is not a multiple of the page size, or if MAP_FIXED is given with
// an address that is not page aligned (aligned ones succeed).
TEST(MmapFile, UnalignedOffsetOrFixedAddressFailsEinval) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F11");
  File f(2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ, MAP_SHARED, 1), EINVAL);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ, MAP_SHARED, static_cast<off_t>(kPage)), 0);
  Mapping spot(-1, 2 * kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);  // a place of our own
  ASSERT_TRUE(spot.ok()) << std::strerror(errno);
  void* odd = spot.bytes() + 1;
  EXPECT_EQ(failed_with(::mmap(odd, kPage, PROT_READ, MAP_SHARED | MAP_FIXED, f.fd, 0)), EINVAL);
  EXPECT_NE(::mmap(spot.p, kPage, PROT_READ, MAP_SHARED | MAP_FIXED, f.fd, 0), MAP_FAILED);
}

// mmap(2): MAP_SHARED_VALIDATE fails EOPNOTSUPP for flags it does not know.
TEST(MmapFile, SharedValidateRejectsUnknownFlagEopnotsupp) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F15");
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  constexpr int kUnknownFlag = 0x800000;  // not a MAP_* flag on Linux
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ, MAP_SHARED_VALIDATE | kUnknownFlag), EOPNOTSUPP);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ, MAP_SHARED_VALIDATE), 0);
}

// mmap(2): EBADF if fd is not a valid file descriptor (-1, or one just closed) and
// MAP_ANONYMOUS was not set.
TEST(MmapFile, InvalidFdFailsEbadf) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F10");
  EXPECT_EQ(map_errno(-1, kPage, PROT_READ, MAP_SHARED), EBADF);
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  int closed = f.fd;
  EXPECT_EQ(map_errno(closed, kPage, PROT_READ, MAP_SHARED), 0) << "while open";
  ::close(f.fd);
  f.fd = -1;
  EXPECT_EQ(map_errno(closed, kPage, PROT_READ, MAP_SHARED), EBADF);
  EXPECT_EQ(map_errno(closed, kPage, PROT_READ, MAP_PRIVATE), EBADF);
}

// mmap(2): EACCES if MAP_SHARED and PROT_WRITE are asked of an fd not open O_RDWR; a
// MAP_PRIVATE writable mapping of it is allowed (copy-on-write).
TEST(MmapFile, SharedWritableMapOfReadOnlyFdFailsEacces) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F07");
  File f(kPage, O_RDONLY);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ | PROT_WRITE, MAP_SHARED), EACCES);
  EXPECT_EQ(map_errno(f.fd, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE), 0);
}

// mmap(2): EACCES if a file mapping was requested but fd is not open for reading, whatever the
// protection (none, read, write, both, exec) and MAP_SHARED or MAP_PRIVATE.
TEST(MmapFile, MapOfWriteOnlyFdFailsEacces) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F06");
  File f(kPage, O_WRONLY);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  for (int prot : {PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE, PROT_EXEC}) {
    for (int flags : {MAP_SHARED, MAP_PRIVATE}) {
      EXPECT_EQ(map_errno(f.fd, kPage, prot, flags), EACCES)
          << "prot " << prot << " flags " << flags;
    }
  }
}

// mmap(2): ENODEV if the file's filesystem does not support memory mapping (a pipe, a
// directory). The page also promises EACCES for a non-regular file; Linux gives ENODEV.
TEST(MmapFile, MapOfPipeOrDirectoryFailsEnodev) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F12");
  TempDir dir;
  int fds[3] = {-1, -1, ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY)};
  ASSERT_EQ(::pipe(fds), 0);
  Cleanup close_all([&fds] {
    for (int fd : fds) ::close(fd);
  });
  ASSERT_GE(fds[2], 0) << std::strerror(errno);
  EXPECT_EQ(map_errno(fds[0], kPage, PROT_READ, MAP_SHARED), ENODEV) << "pipe";
  EXPECT_EQ(map_errno(fds[2], kPage, PROT_READ, MAP_SHARED), ENODEV) << "directory";
}

// mmap(2): MAP_SHARED updates are visible to other mappings of the file, in this and in other
// processes, and are carried through to the file.
TEST(MmapFile, SharedWritesVisibleToOtherMappingsAndProcesses) {
  CONFORM_MAN("mmap(2)");
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  Mapping a(f.fd, kPage), b(f.fd, kPage);
  ASSERT_TRUE(a.ok() && b.ok()) << std::strerror(errno);
  std::strcpy(a.bytes(), "via a");
  EXPECT_STREQ(b.bytes(), "via a");
  std::string path = f.path;
  auto r = run_in_child([&path] {
    Fd fd(::open(path.c_str(), O_RDWR));
    Mapping c(fd.get(), kPage);
    if (!c.ok()) return 1;
    std::strcpy(c.bytes() + 64, "via child");
    return 0;
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_STREQ(a.bytes() + 64, "via child");
  EXPECT_EQ(f.read_back(64, 9), "via child");
}

// mmap(2): MAP_PRIVATE updates are copy-on-write: not visible to other mappings, not carried
// through to the file (even with msync), and gone once unmapped: a new mapping sees the file.
TEST(MmapFile, PrivateWritesStayPrivate) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F20");
  MappedFile f(kPage, kPage);  // f.m: the shared mapping
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  auto priv = std::make_unique<Mapping>(f.fd, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_TRUE(priv->ok()) << std::strerror(errno);
  std::strcpy(priv->bytes(), "private");
  EXPECT_STREQ(priv->bytes(), "private");
  EXPECT_EQ(f.m.bytes()[0], '\0');
  ASSERT_EQ(::msync(priv->p, kPage, MS_SYNC), 0);
  EXPECT_EQ(f.read_back(0, 7), std::string(7, '\0'));
  priv.reset();
  Mapping again(f.fd, kPage, PROT_READ, MAP_PRIVATE);
  ASSERT_TRUE(again.ok()) << std::strerror(errno);
  EXPECT_EQ(again.bytes()[0], '\0') << "the discarded write came back";
}

// mmap(2): SIGSEGV on any access to a PROT_NONE mapping, and on a write into a region mapped
// without PROT_WRITE (reading it is allowed).
TEST(MmapFile, AccessBeyondProtectionRaisesSigsegv) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F05");
  File f(kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  Mapping none(f.fd, kPage, PROT_NONE), ro(f.fd, kPage, PROT_READ);
  ASSERT_TRUE(none.ok() && ro.ok()) << std::strerror(errno);
  for (bool write : {false, true}) {
    auto r = touch_in_child(none.bytes(), write);
    EXPECT_EQ(r.signal, SIGSEGV) << r.describe() << (write ? " (write" : " (read")
                                 << ", PROT_NONE)";
  }
  EXPECT_CHILD_OK(touch_in_child(ro.bytes(), false)) << " (reading is allowed)";
  auto r = touch_in_child(ro.bytes(), true);
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe() << " (write, PROT_READ)";
}

// mmap(2): SIGBUS on access to a page of the mapping beyond the end of the file, here after
// ftruncate(2) shrank a mapped two-page file to one page.
TEST(MmapFile, AccessPastEndOfShrunkFileRaisesSigbus) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("U14");
  MappedFile f(2 * kPage, 2 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  ASSERT_EQ(::ftruncate(f.fd, static_cast<off_t>(kPage)), 0);
  EXPECT_CHILD_OK(touch_in_child(f.m.bytes() + kPage - 1, false)) << " (last page of the file)";
  auto r = touch_in_child(f.m.bytes() + kPage, false);
  EXPECT_EQ(r.signal, SIGBUS) << r.describe();
}

// mmap(2) NOTES: the rest of the page holding the end of the file reads as zero, and writes there
// are not carried through to the file, even by msync(MS_SYNC): the file does not grow, a new
// mapping reads zero there and so does read(2) once ftruncate(2) grows the file over them. On a
// disk filesystem (tmpfs keeps such writes: see PosixShm.PartialLastPageReadsZero...).
TEST(MmapFile, PartialLastPageIsZeroAndNotWrittenBack) {
  CONFORM_MAN("mmap(2)");
  CONFORM_ROWS("F01");
  File f(100);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  long type = fs_type(f.fd);
  ASSERT_NE(type, -1);
  if (type == TMPFS_MAGIC) CONFORM_SKIP("the temporary directory is on tmpfs: needs a disk fs");
  {
    Mapping m(f.fd, kPage);
    ASSERT_TRUE(m.ok()) << std::strerror(errno);
    EXPECT_EQ(std::vector<char>(m.bytes() + 100, m.bytes() + kPage),
              std::vector<char>(kPage - 100, 0));
    m.bytes()[200] = 'z';
    ASSERT_EQ(::msync(m.p, kPage, MS_SYNC), 0);
  }
  struct stat st {};
  ASSERT_EQ(::fstat(f.fd, &st), 0);
  EXPECT_EQ(st.st_size, 100) << "the file grew";
  Mapping again(f.fd, kPage, PROT_READ);
  ASSERT_TRUE(again.ok()) << std::strerror(errno);
  EXPECT_EQ(again.bytes()[200], '\0') << "a new mapping sees the write past the end";
  ASSERT_EQ(::ftruncate(f.fd, static_cast<off_t>(kPage)), 0);
  EXPECT_EQ(f.read_back(200, 1), std::string(1, '\0')) << "the write reached the file";
}

// ftruncate(2): a file extended by ftruncate reads as zero bytes, in the mapping and via read(2).
TEST(MmapFile, FtruncateGrowsZeroFilled) {
  CONFORM_MAN("ftruncate(2)");
  MappedFile f(kPage, 3 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  std::memset(f.m.bytes(), 'a', kPage);
  ASSERT_EQ(::ftruncate(f.fd, static_cast<off_t>(3 * kPage)), 0);
  EXPECT_EQ(std::vector<char>(f.m.bytes() + kPage, f.m.bytes() + 3 * kPage),
            std::vector<char>(2 * kPage, 0));
  EXPECT_EQ(f.read_back(kPage, 2 * kPage), std::string(2 * kPage, '\0'));
}

// mmap(2): closing the file descriptor does not unmap the region.
TEST(MmapFile, MappingSurvivesClosingTheFd) {
  CONFORM_MAN("mmap(2)");
  MappedFile f(kPage, kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  ::close(f.fd);
  f.fd = -1;
  std::strcpy(f.m.bytes(), "closed");
  Fd fd(::open(f.path.c_str(), O_RDONLY));
  ASSERT_GE(fd.get(), 0);
  char buf[7] = {};
  ASSERT_EQ(::pread(fd.get(), buf, 6, 0), 6);
  EXPECT_STREQ(buf, "closed");
}

// munmap(2): after munmap, references to the range are invalid memory references (SIGSEGV):
// for a whole mapping, and for the middle page unmapped out of three (its neighbours stay).
TEST(MmapFile, AccessAfterMunmapRaisesSigsegv) {
  CONFORM_MAN("munmap(2)");
  CONFORM_ROWS("F28");
  File f(3 * kPage);
  ASSERT_TRUE(f.ok()) << std::strerror(errno);
  Mapping whole(f.fd, kPage), three(f.fd, 3 * kPage);
  ASSERT_TRUE(whole.ok() && three.ok()) << std::strerror(errno);
  char* p = whole.bytes();
  ASSERT_EQ(::munmap(whole.p, kPage), 0);
  whole.p = MAP_FAILED;
  auto r = touch_in_child(p, false);
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe() << " (whole mapping)";
  ASSERT_EQ(::munmap(three.bytes() + kPage, kPage), 0);
  r = touch_in_child(three.bytes() + kPage, false);
  EXPECT_EQ(r.signal, SIGSEGV) << r.describe() << " (unmapped middle page)";
  EXPECT_CHILD_OK(touch_in_child(three.bytes(), true)) << " (first page)";
  EXPECT_CHILD_OK(touch_in_child(three.bytes() + 2 * kPage, true)) << " (last page)";
}

}  // namespace
}  // namespace ipcb::conform
