// Conformance of file sealing on memfd files (fcntl(2) F_ADD_SEALS / F_GET_SEALS,
// memfd_create(2) MFD_ALLOW_SEALING): which operations each seal refuses with EPERM and which
// it leaves alone, EBUSY for F_SEAL_WRITE under a writable mapping, and the argument errors.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

constexpr off_t kSize = 8192;

// A sealable memfd of kSize bytes, closed when the scope ends.
struct Sealable {
  Fd fd{::memfd_create("ipcb-conf-seal", MFD_ALLOW_SEALING)};
  bool ok = fd.get() >= 0 && ::ftruncate(fd.get(), kSize) == 0;
  int seals() const { return ::fcntl(fd.get(), F_GET_SEALS); }
  int add(int seals) const { return failed_with(::fcntl(fd.get(), F_ADD_SEALS, seals)); }
};

off_t size_of(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_size : -1;
}

// A new descriptor of the same file, opened through /proc/self/fd with `flags`.
int reopen(int fd, int flags) {
  return ::open(("/proc/self/fd/" + std::to_string(fd)).c_str(), flags);
}

// memfd_create(2): without MFD_ALLOW_SEALING the file starts sealed with F_SEAL_SEAL, so
// F_ADD_SEALS fails EPERM.
TEST(Memfd, WithoutAllowSealingSealsFailEperm) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D06");
  Fd fd(::memfd_create("ipcb-conf", 0));
  ASSERT_GE(fd.get(), 0);
  EXPECT_EQ(::fcntl(fd.get(), F_GET_SEALS), F_SEAL_SEAL);
  EXPECT_EQ(failed_with(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_WRITE)), EPERM);
  EXPECT_EQ(failed_with(::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_GROW)), EPERM);
  EXPECT_EQ(::fcntl(fd.get(), F_GET_SEALS), F_SEAL_SEAL);
}

// fcntl(2): with MFD_ALLOW_SEALING the set of seals starts empty; F_ADD_SEALS adds to it (adding
// a seal again is a no-op); seals belong to the inode: another descriptor of the file (reopened
// through /proc) reads them and is bound by them.
TEST(Memfd, SealsAccumulateAndBelongToTheInode) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D07");
  Sealable m;
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.seals(), 0);
  EXPECT_EQ(m.add(F_SEAL_SHRINK), 0);
  EXPECT_EQ(m.seals(), F_SEAL_SHRINK);
  EXPECT_EQ(m.add(F_SEAL_GROW), 0);
  EXPECT_EQ(m.add(F_SEAL_SHRINK), 0) << "adding a seal again";
  EXPECT_EQ(m.seals(), F_SEAL_SHRINK | F_SEAL_GROW);
  Fd other(reopen(m.fd.get(), O_RDWR));
  ASSERT_GE(other.get(), 0) << std::strerror(errno);
  EXPECT_EQ(::fcntl(other.get(), F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
  EXPECT_EQ(failed_with(::ftruncate(other.get(), kSize / 2)), EPERM);
  EXPECT_EQ(::fcntl(other.get(), F_ADD_SEALS, F_SEAL_WRITE), 0);
  EXPECT_EQ(m.seals(), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) << "added through the other";
}

// fcntl(2) F_SEAL_SHRINK: the file cannot be made smaller (EPERM); it can still grow.
TEST(Memfd, SealShrinkRefusesShrinkingOnly) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D08");
  Sealable m;
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.add(F_SEAL_SHRINK), 0);
  EXPECT_EQ(failed_with(::ftruncate(m.fd.get(), kSize - 1)), EPERM);
  EXPECT_EQ(size_of(m.fd.get()), kSize);
  EXPECT_EQ(::ftruncate(m.fd.get(), 2 * kSize), 0);
  EXPECT_EQ(::ftruncate(m.fd.get(), 2 * kSize), 0) << "keeping the size";
}

// fcntl(2) F_SEAL_GROW: the file cannot grow: ftruncate, write and fallocate past the end fail
// EPERM; shrinking and writing inside the file still work.
TEST(Memfd, SealGrowRefusesGrowingOnly) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D09");
  Sealable m;
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.add(F_SEAL_GROW), 0);
  int fd = m.fd.get();
  EXPECT_EQ(failed_with(::ftruncate(fd, kSize + 1)), EPERM);
  EXPECT_EQ(failed_with(::pwrite(fd, "x", 1, kSize)), EPERM);
  EXPECT_EQ(failed_with(::fallocate(fd, 0, 0, 2 * kSize)), EPERM);
  EXPECT_EQ(size_of(fd), kSize);
  EXPECT_EQ(::pwrite(fd, "x", 1, kSize - 1), 1) << "inside the file";
  EXPECT_EQ(::fallocate(fd, 0, 0, kSize), 0);
  EXPECT_EQ(::ftruncate(fd, kSize / 2), 0);
  EXPECT_EQ(size_of(fd), kSize / 2);
}

// fcntl(2) F_SEAL_WRITE: the contents cannot change: write and fallocate(PUNCH_HOLE) fail
// EPERM, a new shared writable mapping fails EPERM, and a shared read-only mapping cannot be
// made writable (mprotect EACCES); reading, a private writable mapping and resizing still work.
TEST(Memfd, SealWriteRefusesModification) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D10");
  Sealable m;
  ASSERT_TRUE(m.ok);
  int fd = m.fd.get();
  ASSERT_EQ(::pwrite(fd, "sealed", 6, 0), 6);
  ASSERT_EQ(m.add(F_SEAL_WRITE), 0);
  EXPECT_EQ(failed_with(::pwrite(fd, "x", 1, 0)), EPERM);
  EXPECT_EQ(failed_with(::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)),
            EPERM);
  EXPECT_EQ(failed_with(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)), EPERM);
  Mapping ro(fd, 4096, PROT_READ, MAP_SHARED);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ(failed_with(::mprotect(ro.p, 4096, PROT_READ | PROT_WRITE)), EACCES);
  Mapping priv(fd, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  ASSERT_TRUE(priv.ok()) << "a private writable mapping is allowed";
  priv.bytes()[0] = 'S';  // copy-on-write: the file keeps its contents
  char buf[6];
  ASSERT_EQ(::pread(fd, buf, 6, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "sealed");
  EXPECT_EQ(std::string(ro.bytes(), 6), "sealed");
  EXPECT_EQ(::ftruncate(fd, 2 * kSize), 0) << "resizing stays allowed";
}

// fcntl(2): F_ADD_SEALS of F_SEAL_WRITE fails EBUSY while a writable shared mapping exists, and
// succeeds once it is unmapped.
TEST(Memfd, SealWriteWithWritableMappingFailsEbusy) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D11");
  Sealable m;
  ASSERT_TRUE(m.ok);
  {
    Mapping rw(m.fd.get(), 4096);
    ASSERT_TRUE(rw.ok());
    EXPECT_EQ(m.add(F_SEAL_WRITE), EBUSY);
    EXPECT_EQ(m.seals(), 0);
  }
  EXPECT_EQ(m.add(F_SEAL_WRITE), 0);
  EXPECT_EQ(m.seals(), F_SEAL_WRITE);
}

// fcntl(2) F_SEAL_SEAL: afterwards every F_ADD_SEALS fails EPERM and the seals stay as they are.
TEST(Memfd, SealSealFreezesTheSeals) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D12");
  Sealable m;
  ASSERT_TRUE(m.ok);
  ASSERT_EQ(m.add(F_SEAL_SHRINK | F_SEAL_SEAL), 0);
  for (int seal : {F_SEAL_GROW, F_SEAL_WRITE, F_SEAL_SHRINK, F_SEAL_SEAL}) {
    EXPECT_EQ(m.add(seal), EPERM) << "seal " << seal;
  }
  EXPECT_EQ(m.seals(), F_SEAL_SHRINK | F_SEAL_SEAL);
}

// fcntl(2): F_ADD_SEALS fails EINVAL for an unknown seal bit and EPERM on a descriptor not open
// for writing; both sealing commands fail EINVAL on a file whose filesystem has no seals.
TEST(Memfd, AddSealsArgumentErrors) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D13");
  Sealable m;
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.add(0x10000), EINVAL);
  Fd ro(reopen(m.fd.get(), O_RDONLY));
  ASSERT_GE(ro.get(), 0) << std::strerror(errno);
  EXPECT_EQ(failed_with(::fcntl(ro.get(), F_ADD_SEALS, F_SEAL_GROW)), EPERM);
  EXPECT_EQ(m.seals(), 0);
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::fcntl(p.w.get(), F_ADD_SEALS, F_SEAL_WRITE)), EINVAL);
  EXPECT_EQ(failed_with(::fcntl(p.w.get(), F_GET_SEALS)), EINVAL);
}

// fcntl(2) F_SEAL_FUTURE_WRITE (Linux 5.1): write and new writable shared mappings fail EPERM,
// but a writable shared mapping made before the seal still modifies the file.
TEST(Memfd, SealFutureWriteKeepsEarlierWritableMapping) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("D14");
  Sealable m;
  ASSERT_TRUE(m.ok);
  int fd = m.fd.get();
  Mapping before(fd, 4096);
  ASSERT_TRUE(before.ok());
  int rc = m.add(F_SEAL_FUTURE_WRITE);
  if (rc == EINVAL) CONFORM_SKIP("F_SEAL_FUTURE_WRITE unknown (EINVAL): it needs Linux 5.1");
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(failed_with(::pwrite(fd, "x", 1, 0)), EPERM);
  EXPECT_EQ(failed_with(::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)), EPERM);
  std::memcpy(before.bytes(), "still", 5);
  char buf[5];
  ASSERT_EQ(::pread(fd, buf, 5, 0), 5);
  EXPECT_EQ(std::string(buf, 5), "still");
}

}  // namespace
}  // namespace ipcb::conform
