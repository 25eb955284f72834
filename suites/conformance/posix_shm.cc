// Conformance of POSIX shared memory (shm_overview(7), shm_open(3)): names, creation, access
// modes and permissions, lifetime across processes and unlink, and what a full tmpfs does.
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// A shared memory object the test created; its fd closed and its name unlinked on every path.
struct Shm {
  std::string name = unique_name();
  int fd = -1;
  Cleanup guard{[this] {
    if (fd >= 0) ::close(fd);
    ::shm_unlink(name.c_str());
  }};
  bool create(size_t size, mode_t mode = 0600) {
    fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, mode);
    return fd >= 0 && ::ftruncate(fd, static_cast<off_t>(size)) == 0;
  }
  // create(size), then a shared read-write mapping of the whole object (unmapped first).
  std::unique_ptr<Mapping> map;
  bool create_mapped(size_t size) {
    if (!create(size)) return false;
    map = std::make_unique<Mapping>(fd, size);
    return map->ok();
  }
  char* bytes() const { return map->bytes(); }
};

// The process's umask (read by setting it and setting it back).
mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

// errno of a failed shm_open, or 0 if it succeeded (a created object is then removed).
int open_errno(const std::string& name, int oflag, mode_t mode = 0600) {
  int fd = ::shm_open(name.c_str(), oflag, mode);
  if (fd < 0) return errno;
  ::close(fd);
  if (oflag & O_CREAT) ::shm_unlink(name.c_str());
  return 0;
}

// shm_open(3): EEXIST with O_CREAT | O_EXCL when the object exists.
TEST(PosixShm, ExclusiveCreateOfExistingFailsEexist) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P08");
  Shm s;
  ASSERT_TRUE(s.create(0)) << std::strerror(errno);
  EXPECT_EQ(open_errno(s.name, O_RDWR | O_CREAT | O_EXCL), EEXIST);
}

// shm_open(3): ENOENT without O_CREAT for a missing name; shm_unlink returns 0 for an existing
// name and fails with ENOENT for a missing one.
TEST(PosixShm, OpenOrUnlinkOfMissingObjectFailsEnoent) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P16 P22");
  Shm s;
  EXPECT_EQ(open_errno(s.name, O_RDWR), ENOENT);
  EXPECT_EQ(failed_with(::shm_unlink(s.name.c_str())), ENOENT);
  ASSERT_TRUE(s.create(0)) << std::strerror(errno);
  EXPECT_EQ(::shm_unlink(s.name.c_str()), 0);
  EXPECT_EQ(open_errno(s.name, O_RDWR), ENOENT);
  EXPECT_EQ(failed_with(::shm_unlink(s.name.c_str())), ENOENT);
}

// shm_open(3): a portable name is "/somename" with no further slashes; EINVAL for an invalid
// name. POSIX leaves other forms implementation-defined; glibc's choice: "/" alone and an inner
// slash fail EINVAL, while the leading slash is optional and repeated ones are skipped (all
// three spellings name the same object).
TEST(PosixShm, NamesWithInnerSlashFailEinvalLeadingSlashOptional) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P13");
  for (const std::string& bad : {std::string("/"), std::string(""), unique_name() + "/x"}) {
    EXPECT_EQ(open_errno(bad, O_RDWR | O_CREAT | O_EXCL), EINVAL) << "'" << bad << "'";
  }
  Shm s;
  s.fd = ::shm_open(s.name.substr(1).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(s.fd, 0) << "no leading slash: " << std::strerror(errno);
  ASSERT_EQ(::ftruncate(s.fd, 123), 0);
  for (const std::string& same : {s.name, "/" + s.name}) {
    Fd fd(::shm_open(same.c_str(), O_RDONLY, 0));
    ASSERT_GE(fd.get(), 0) << same << ": " << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    EXPECT_EQ(st.st_size, 123) << same << " names another object";
  }
}

// shm_open(3): a name has up to NAME_MAX (255) characters after the slash; ENAMETOOLONG for a
// longer one, from shm_open and shm_unlink. The page also promises ENAMETOOLONG for a name longer
// than PATH_MAX; glibc (2.34 and later) gives EINVAL from shm_open and ENOENT from shm_unlink
// instead (its name buffer overflows before the length is judged): recorded here as found.
TEST(PosixShm, NameLengthLimitsFailEnametoolong) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P15");
  std::string at = unique_name();
  at.resize(1 + NAME_MAX, 'm');
  EXPECT_EQ(open_errno(at, O_RDWR | O_CREAT | O_EXCL), 0) << "exactly NAME_MAX characters";
  EXPECT_EQ(open_errno(at + "m", O_RDWR | O_CREAT | O_EXCL), ENAMETOOLONG);
  EXPECT_EQ(failed_with(::shm_unlink((at + "m").c_str())), ENAMETOOLONG);
  std::string huge = unique_name();
  huge.resize(PATH_MAX + 1, 'p');
  EXPECT_EQ(open_errno(huge, O_RDWR | O_CREAT | O_EXCL), EINVAL) << "glibc; the page: ENAMETOOLONG";
  EXPECT_EQ(failed_with(::shm_unlink(huge.c_str())), ENOENT) << "glibc; the page: ENAMETOOLONG";
}

// shm_open(3): a new object has zero length; ftruncate's new bytes are zero; the fd has
// FD_CLOEXEC set.
TEST(PosixShm, NewObjectIsEmptyZeroFilledAndCloexec) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P04");
  Shm s;
  s.fd = ::shm_open(s.name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(s.fd, 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::fstat(s.fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_NE(::fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0);
  ASSERT_EQ(::ftruncate(s.fd, static_cast<off_t>(2 * kPage)), 0);
  Mapping m(s.fd, 2 * kPage);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  EXPECT_EQ(std::vector<char>(m.bytes(), m.bytes() + m.len), std::vector<char>(m.len, 0));
}

// shm_open(3): O_TRUNC truncates an existing object to zero bytes; its mode and owner stay. As
// root the object belongs to nobody, so an owner change by the truncating opener would show.
TEST(PosixShm, OTruncTruncatesExistingObject) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P10");
  Shm s;
  std::string name = s.name;
  auto made = run_in_child([&name] {
    if (is_root() && !drop_to_nobody()) return kSetupFailed;
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0664);
    return fd >= 0 && ::ftruncate(fd, static_cast<off_t>(kPage)) == 0 ? 0 : 1;
  });
  ASSERT_TRUE(made.exited && made.code == 0) << made.describe();
  s.fd = ::shm_open(s.name.c_str(), O_RDWR | O_TRUNC, 0);
  ASSERT_GE(s.fd, 0) << std::strerror(errno);
  struct stat st {};
  ASSERT_EQ(::fstat(s.fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mode & 07777, 0664u & ~current_umask());
  EXPECT_EQ(st.st_uid, is_root() ? 65534u : ::geteuid());
  EXPECT_EQ(st.st_gid, is_root() ? 65534u : ::getegid());
}

// shm_open(3): an object opened O_RDONLY can be mapped only for reading; mmap(2): EACCES for a
// MAP_SHARED PROT_WRITE mapping of it.
TEST(PosixShm, ReadOnlyOpenCannotBeMappedWritable) {
  CONFORM_MAN("shm_open(3)");
  Shm s;
  ASSERT_TRUE(s.create(kPage)) << std::strerror(errno);
  int ro = ::shm_open(s.name.c_str(), O_RDONLY, 0);
  ASSERT_GE(ro, 0) << std::strerror(errno);
  Cleanup close_ro([ro] { ::close(ro); });
  Mapping w(ro, kPage);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(errno, EACCES);
  Mapping r(ro, kPage, PROT_READ);
  EXPECT_TRUE(r.ok()) << std::strerror(errno);
}

// The EACCES tests run their check unprivileged(): as root, in a child dropped to nobody;
// otherwise as the owner itself (the test then makes the object without the owner's write bit).

// shm_open(3): EACCES if permission to open the object in the given mode is denied: another
// user opening a mode-0 object O_RDWR; once the mode grants others read and write, the same open
// succeeds.
TEST(PosixShm, ModeBitsEnforcedEacces) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P11");
  if (!is_root()) CONFORM_SKIP("not root: needs a second user (nobody) who is not the owner");
  Shm s;
  ASSERT_TRUE(s.create(kPage, 0)) << std::strerror(errno);
  ASSERT_EQ(::fchmod(s.fd, 0), 0);  // whatever the umask
  std::string name = s.name;
  auto denied = as_nobody([&name] { return open_errno(name, O_RDWR); });
  EXPECT_EQ(denied.code, EACCES) << denied.describe();
  ASSERT_EQ(::fchmod(s.fd, 0606), 0);
  auto allowed = as_nobody([&name] { return open_errno(name, O_RDWR); });
  EXPECT_EQ(allowed.code, 0) << allowed.describe() << " (mode 0606)";
}

// shm_open(3): EACCES if O_TRUNC was given without write permission on the object.
// As root the check runs as nobody on root's object; otherwise the owner lacks the write bit.
// Once write permission is granted, the same O_TRUNC open succeeds and truncates.
TEST(PosixShm, OTruncWithoutWritePermissionFailsEacces) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P12");
  Shm s;
  ASSERT_TRUE(s.create(kPage)) << std::strerror(errno);
  ASSERT_EQ(::fchmod(s.fd, is_root() ? 0644 : 0400), 0);
  std::string name = s.name;
  auto r = unprivileged([&name] {
    if (open_errno(name, O_RDONLY) != 0) return 1;  // reading is allowed
    return open_errno(name, O_RDONLY | O_TRUNC) == EACCES ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
  struct stat st {};
  ASSERT_EQ(::fstat(s.fd, &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), kPage) << "the object was not truncated";
  ASSERT_EQ(::fchmod(s.fd, is_root() ? 0646 : 0600), 0);
  auto allowed = unprivileged([&name] { return open_errno(name, O_RDONLY | O_TRUNC); });
  EXPECT_EQ(allowed.code, 0) << allowed.describe() << " (write permission granted)";
  ASSERT_EQ(::fstat(s.fd, &st), 0);
  EXPECT_EQ(st.st_size, 0) << "the permitted O_TRUNC truncated";
}

// shm_open(3): EACCES if permission to shm_unlink the object was denied (another user's object
// in the sticky /dev/shm; glibc turns the kernel's EPERM into EACCES); the object stays as it
// was. Its owner may unlink it.
TEST(PosixShm, UnlinkByOtherUserFailsEacces) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P23");
  if (!is_root()) CONFORM_SKIP("not root: needs a second user (nobody) who is not the owner");
  Shm s;
  ASSERT_TRUE(s.create(kPage)) << std::strerror(errno);
  ASSERT_EQ(::fchmod(s.fd, 0666), 0);
  ASSERT_EQ(::pwrite(s.fd, "kept", 4, 0), 4);
  std::string name = s.name;
  auto r = as_nobody([&name] { return failed_with(::shm_unlink(name.c_str())); });
  EXPECT_EQ(r.code, EACCES) << r.describe();
  Fd again(::shm_open(s.name.c_str(), O_RDONLY, 0));
  ASSERT_GE(again.get(), 0) << "the object is gone: " << std::strerror(errno);
  char buf[4] = {};
  EXPECT_EQ(::pread(again.get(), buf, 4, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "kept");
  EXPECT_EQ(::shm_unlink(s.name.c_str()), 0) << "the owner may unlink it";
}

// shm_overview(7): objects have kernel persistence: contents outlive the process that wrote them.
TEST(PosixShm, ObjectOutlivesCreator) {
  CONFORM_MAN("shm_overview(7)");
  CONFORM_ROWS("P17");
  Shm s;  // owns the name; the child creates it
  std::string name = s.name;
  auto r = run_in_child([&name] {
    int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(kPage)) != 0) return 1;
    Mapping m(fd, kPage);
    if (!m.ok()) return 2;
    std::strcpy(m.bytes(), "left behind");
    return 0;  // exits without shm_unlink
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  s.fd = ::shm_open(name.c_str(), O_RDONLY, 0);
  ASSERT_GE(s.fd, 0) << std::strerror(errno);
  Mapping m(s.fd, kPage, PROT_READ);
  ASSERT_TRUE(m.ok()) << std::strerror(errno);
  EXPECT_STREQ(m.bytes(), "left behind");
}

// shm_open(3): after shm_unlink the memory lives until unmapped (the fd is already closed);
// the name is gone when shm_unlink returns, so open without O_CREAT fails, and O_CREAT makes a
// new, distinct object that shares nothing with the old mapping.
TEST(PosixShm, UnlinkWhileMappedKeepsTheMemory) {
  CONFORM_MAN("shm_open(3)");
  CONFORM_ROWS("P18 P20 P21");
  Shm s;
  ASSERT_TRUE(s.create_mapped(kPage)) << std::strerror(errno);
  std::strcpy(s.bytes(), "still here");
  ::close(s.fd);
  s.fd = -1;
  ASSERT_EQ(::shm_unlink(s.name.c_str()), 0);
  EXPECT_EQ(open_errno(s.name, O_RDWR), ENOENT);
  EXPECT_STREQ(s.bytes(), "still here");
  Shm fresh;
  fresh.name = s.name;
  ASSERT_TRUE(fresh.create_mapped(kPage)) << std::strerror(errno);
  EXPECT_EQ(fresh.bytes()[0], '\0') << "the new object holds the old data";
  std::strcpy(fresh.bytes(), "new");
  EXPECT_STREQ(s.bytes(), "still here") << "a write to the new object reached the old one";
  std::strcpy(s.bytes(), "old");
  EXPECT_STREQ(fresh.bytes(), "new") << "a write to the old object reached the new one";
}

// shm_open(3): after mmap the fd may be closed without affecting the mapping.
TEST(PosixShm, MappingSurvivesClosingTheFd) {
  CONFORM_MAN("shm_open(3)");
  Shm s;
  ASSERT_TRUE(s.create_mapped(kPage)) << std::strerror(errno);
  ::close(s.fd);
  s.fd = -1;
  std::strcpy(s.bytes(), "after close");
  int fd = ::shm_open(s.name.c_str(), O_RDONLY, 0);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  Cleanup close_fd([fd] { ::close(fd); });
  char buf[16] = {};
  ASSERT_EQ(::pread(fd, buf, 11, 0), 11);
  EXPECT_STREQ(buf, "after close");
}

// shm_overview(7): unrelated processes that shm_open and mmap the same name share the memory.
TEST(PosixShm, WritesVisibleToAnotherProcess) {
  CONFORM_MAN("shm_overview(7)");
  CONFORM_ROWS("P02");
  Shm s;
  ASSERT_TRUE(s.create_mapped(kPage)) << std::strerror(errno);
  auto r = run_in_child([&s] {
    int fd = ::shm_open(s.name.c_str(), O_RDWR, 0);
    if (fd < 0) return 1;
    Mapping c(fd, kPage);
    if (!c.ok()) return 2;
    std::strcpy(c.bytes() + 100, "from child");
    return 0;
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_STREQ(s.bytes() + 100, "from child");
}

// Fills an object on the 1 MiB tmpfs now mounted on /dev/shm: write(2) must stop with ENOSPC,
// and touching a mapped page the filesystem cannot back must raise SIGBUS.
int fill_small_tmpfs(const std::string& name) {
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return 3;
  std::vector<char> chunk(64 * 1024, 'x');
  size_t total = 0;
  ssize_t n = 0;
  while ((n = ::write(fd, chunk.data(), chunk.size())) > 0) total += static_cast<size_t>(n);
  if (n != -1 || errno != ENOSPC || total > 1024 * 1024) return 4;
  Shm other;                                 // a second object in the same full filesystem
  if (!other.create(1024 * 1024)) return 5;  // sparse: the size itself needs no space
  auto touch = run_in_child([&other] {
    Mapping m(other.fd, 1024 * 1024);
    if (!m.ok()) return 1;
    for (size_t i = 0; i < m.len; i += kPage) m.bytes()[i] = 1;
    return 2;
  });
  return touch.signal == SIGBUS ? 0 : 6;
}

// write(2), tmpfs(5): a shm object whose filesystem is full gets ENOSPC from write(2), and an
// object whose ftruncate succeeded gets SIGBUS on the first touch of a page that cannot be
// backed. Checked on a private 1 MiB tmpfs on /dev/shm in a private mount namespace (through a
// user namespace when not root), never on the real /dev/shm.
TEST(PosixShm, FullFilesystemGivesEnospcAndSigbus) {
  CONFORM_MAN("tmpfs(5)");
  CONFORM_ROWS("U09");
  std::string name = unique_name();
  auto r = run_in_child([&name] {
    if (!enter_private_namespaces(CLONE_NEWNS)) return kSkipCode;
    if (!mount_private_tmpfs("/dev/shm", 1024 * 1024)) return kSkipCode;
    return fill_small_tmpfs(name);  // the mount and all in it vanish with this namespace
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot mount a private tmpfs on /dev/shm (no mount or user namespace)");
  EXPECT_CHILD_OK(r) << " (4: no ENOSPC from write, 6: no SIGBUS)";
}

}  // namespace
}  // namespace ipcb::conform
