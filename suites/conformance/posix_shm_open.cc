// Conformance of shm_open(3) itself: what reopening sees, the descriptor it returns, the access
// mode of that descriptor against the object's mode, the new object's owner, mode and size, an
// exclusive-create race and the descriptor limit.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// Names the test made (or that children made for it), unlinked on every path.
struct Names {
  std::vector<std::string> list;
  Cleanup guard{[this] {
    for (const auto& n : list) ::shm_unlink(n.c_str());
  }};
  explicit Names(size_t n) {
    for (size_t i = 0; i < n; ++i) list.push_back(unique_name());
  }
  // shm_open(3) of the first name, created exclusively, read-write, with `mode`: the fd or -1.
  int create(mode_t mode) const {
    return ::shm_open(list[0].c_str(), O_RDWR | O_CREAT | O_EXCL, mode);
  }
};

// shm_open(3): shm_open of an existing name opens the same object: a later O_RDONLY open reads
// what the creator wrote (by read(2) and a PROT_READ mapping), and a later O_RDWR open writes
// what the creator then sees.
TEST(PosixShm, ReopenReadOnlyAndReadWriteSeeTheSameObject) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P01");
  Names n(1);
  Fd created(n.create(0600));
  ASSERT_GE(created.get(), 0) << std::strerror(errno);
  const char* name = n.list[0].c_str();
  ASSERT_EQ(::ftruncate(created.get(), static_cast<off_t>(kPage)), 0);
  Mapping w(created.get(), kPage);
  ASSERT_TRUE(w.ok()) << std::strerror(errno);
  std::strcpy(w.bytes(), "from the creator");
  Fd ro(::shm_open(name, O_RDONLY, 0));
  ASSERT_GE(ro.get(), 0) << std::strerror(errno);
  char buf[17] = {};
  EXPECT_EQ(::pread(ro.get(), buf, 16, 0), 16);
  EXPECT_STREQ(buf, "from the creator");
  Mapping r(ro.get(), kPage, PROT_READ);
  ASSERT_TRUE(r.ok()) << std::strerror(errno);
  EXPECT_STREQ(r.bytes(), "from the creator");
  Fd rw(::shm_open(name, O_RDWR, 0));
  ASSERT_GE(rw.get(), 0) << std::strerror(errno);
  Mapping rwm(rw.get(), kPage);
  ASSERT_TRUE(rwm.ok()) << std::strerror(errno);
  std::strcpy(rwm.bytes() + 100, "from the reopener");
  EXPECT_STREQ(w.bytes() + 100, "from the reopener");
}

// shm_open(3): on success it returns a file descriptor, the lowest-numbered one not currently
// open (open(2)); here a hole below other open descriptors.
TEST(PosixShm, OpenReturnsLowestFreeDescriptor) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P03");
  Names n(1);
  Fd a(::dup(2)), b(::dup(2));
  ASSERT_GE(b.get(), 0);
  int hole = a.get();
  a.reset();  // `hole` is free again, below `b`
  ASSERT_EQ(lowest_free_fd(), hole);
  Fd fd(n.create(0600));
  EXPECT_EQ(fd.get(), hole);
}

// shm_open(3), ftruncate(2): a descriptor opened O_RDONLY cannot resize the object, even when the
// object's mode allows writing: EINVAL (the page allows EBADF or EINVAL; Linux gives EINVAL). The
// same call on an O_RDWR descriptor succeeds.
TEST(PosixShm, ReadOnlyDescriptorCannotTruncate) {
  CONFORM_MAN("ftruncate(2)");
  CONFORM_ROWS("P05");
  Names n(1);
  Fd rw(n.create(0666));
  ASSERT_GE(rw.get(), 0) << std::strerror(errno);
  const char* name = n.list[0].c_str();
  ASSERT_EQ(::fchmod(rw.get(), 0666), 0);
  Fd ro(::shm_open(name, O_RDONLY, 0));
  ASSERT_GE(ro.get(), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::ftruncate(ro.get(), static_cast<off_t>(kPage))), EINVAL);
  struct stat st {};
  ASSERT_EQ(::fstat(rw.get(), &st), 0);
  EXPECT_EQ(st.st_size, 0) << "the failed ftruncate changed the size";
  EXPECT_EQ(::ftruncate(rw.get(), static_cast<off_t>(kPage)), 0) << std::strerror(errno);
}

// shm_open(3): the mode of a new object applies to later opens only: the creating descriptor is
// O_RDWR even for mode 0 (it can be resized, written through a shared mapping and mapped for
// reading), while a later open by the same (unprivileged) user fails with EACCES.
TEST(PosixShm, CreatingDescriptorIgnoresTheNewMode) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P06");
  Names n(1);
  std::string name = n.list[0];
  auto r = unprivileged([&name] {
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0);
    if (fd < 0) return child_fail(1, "shm_open O_CREAT mode 0");
    if (::ftruncate(fd, static_cast<off_t>(kPage)) != 0) return child_fail(2, "ftruncate");
    Mapping w(fd, kPage);
    Mapping r(fd, kPage, PROT_READ);
    if (!w.ok() || !r.ok()) return child_fail(3, "mmap");
    w.bytes()[0] = 'x';
    if (r.bytes()[0] != 'x') return 4;
    int later = ::shm_open(name.c_str(), O_RDONLY, 0);
    return later < 0 && errno == EACCES ? 0 : 5;
  });
  EXPECT_CHILD_OK(r) << " (1-3: the creating fd was refused, 5: a later open was not)";
}

// shm_open(3): a new object belongs to the caller's effective uid and gid, has the permission
// bits of mode masked by the umask, and length zero. Checked by an unprivileged creator (nobody
// when root) with umask 027 and mode 0666.
TEST(PosixShm, NewObjectOwnerModeAndSize) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P07");
  Names n(1);
  std::string name = n.list[0];
  auto r = unprivileged([&name] {
    ::umask(027);
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0666);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) return child_fail(1, "shm_open/fstat");
    if (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) return 2;
    if ((st.st_mode & 07777) != 0640) return 3;
    return st.st_size == 0 ? 0 : 4;
  });
  EXPECT_CHILD_OK(r) << " (2: owner, 3: mode, 4: size)";
}

// shm_open(3): O_CREAT | O_EXCL checks for existence and creates atomically: when processes race
// to create the same names, each name is created exactly once (the others get EEXIST).
TEST(PosixShm, ExclusiveCreateRaceHasOneWinnerPerName) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P09");
  Names n(32);
  auto wins = exclusive_create_race(4, n.list, [](const std::string& name) {
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
  });
  ASSERT_EQ(wins.size(), n.list.size()) << "a racer failed otherwise than with EEXIST";
  for (size_t i = 0; i < wins.size(); ++i) EXPECT_EQ(wins[i], 1) << "name " << i;
}

// shm_open(3): EMFILE once the per-process descriptor limit is reached (RLIMIT_NOFILE lowered in
// a child to the lowest free descriptor); the failed O_CREAT made no object. One descriptor
// more, and the same open succeeds.
TEST(PosixShm, OpenAtDescriptorLimitFailsEmfile) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P14");
  Names n(2);
  std::string a = n.list[0], b = n.list[1];
  auto r = run_in_child([&a, &b] {
    if (!set_nofile_limit(lowest_free_fd() + 1)) return child_fail(kSetupFailed, "setrlimit");
    int fd = ::shm_open(a.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);  // takes the last one
    if (fd < 0) return child_fail(1, "shm_open with one descriptor left");
    if (failed_with(::shm_open(a.c_str(), O_RDWR, 0)) != EMFILE) return 2;
    if (failed_with(::shm_open(b.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600)) != EMFILE) return 3;
    ::close(fd);
    return failed_with(::shm_open(b.c_str(), O_RDWR, 0)) == ENOENT ? 0 : 4;
  });
  EXPECT_CHILD_OK(r) << " (2, 3: no EMFILE; 4: the failed O_CREAT made the object)";
}

}  // namespace
}  // namespace ipcb::conform
