// Conformance of memfd_create(2): argument errors, flags, what the new file looks like, sharing
// through fork and descriptor passing, and MFD_HUGETLB without huge pages. Sealing:
// memfd_seal.cc.
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

// memfd_create(2): the name may have up to 249 bytes (excluding the NUL); 250 is EINVAL.
TEST(Memfd, NameOf249BytesAcceptedAnd250Einval) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D01");
  std::string name(249, 'm');
  Fd at(::memfd_create(name.c_str(), 0));
  EXPECT_GE(at.get(), 0) << std::strerror(errno);
  name += 'm';
  EXPECT_EQ(failed_with(::memfd_create(name.c_str(), 0)), EINVAL);
}

// memfd_create(2): EINVAL for unknown bits in flags (a huge page size without MFD_HUGETLB is
// one); EFAULT when name points to invalid memory.
TEST(Memfd, UnknownFlagsEinvalAndBadNameEfault) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D02");
  EXPECT_EQ(failed_with(::memfd_create("ipcb-conf", 0x1000)), EINVAL);
  EXPECT_EQ(failed_with(::memfd_create("ipcb-conf", 0x80000000u)), EINVAL);
  EXPECT_EQ(failed_with(::memfd_create("ipcb-conf", MFD_HUGE_2MB)), EINVAL);
  InaccessiblePage page;
  ASSERT_NE(page.get(), nullptr);
  EXPECT_EQ(failed_with(::memfd_create(static_cast<const char*>(page.get()), 0)), EFAULT);
}

// memfd_create(2): MFD_CLOEXEC sets close-on-exec on the new descriptor; without it, it is clear.
TEST(Memfd, CloexecFlagSetsCloseOnExec) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D03");
  Fd plain(::memfd_create("ipcb-conf", 0)), cloexec(::memfd_create("ipcb-conf", MFD_CLOEXEC));
  ASSERT_GE(plain.get(), 0);
  ASSERT_GE(cloexec.get(), 0);
  EXPECT_EQ(::fcntl(plain.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(cloexec.get(), F_GETFD) & FD_CLOEXEC, 0);
}

std::string fd_link(int fd) {
  char buf[512] = {};
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// memfd_create(2): the new file has size 0, is open for reading and writing (with O_LARGEFILE),
// and /proc/self/fd shows its name prefixed with "memfd:"; two files may have the same name.
TEST(Memfd, NewFileIsEmptyReadWriteAndNamedInProc) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D04");
  Fd a(::memfd_create("ipcb-conf-name", 0)), b(::memfd_create("ipcb-conf-name", 0));
  ASSERT_GE(a.get(), 0);
  ASSERT_GE(b.get(), 0);
  struct stat sa {
  }, sb{};
  ASSERT_EQ(::fstat(a.get(), &sa), 0);
  ASSERT_EQ(::fstat(b.get(), &sb), 0);
  EXPECT_EQ(sa.st_size, 0);
  EXPECT_TRUE(S_ISREG(sa.st_mode));
  EXPECT_NE(sa.st_ino, sb.st_ino) << "the same name, two files";
  int fl = ::fcntl(a.get(), F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, O_RDWR);
#if defined(__x86_64__)
  EXPECT_NE(fl & 0100000, 0) << "O_LARGEFILE (the kernel's x86-64 value)";
#endif
  EXPECT_EQ(fd_link(a.get()), "/memfd:ipcb-conf-name (deleted)");
  EXPECT_EQ(fd_link(b.get()), "/memfd:ipcb-conf-name (deleted)");
  ASSERT_EQ(::write(a.get(), "data", 4), 4);
  char buf[4];
  EXPECT_EQ(::pread(a.get(), buf, 4, 0), 4);
  EXPECT_EQ(std::memcmp(buf, "data", 4), 0);
}

// memfd_create(2): a child made by fork shares the file: its store through a MAP_SHARED
// mapping is read by the parent; a process that received the descriptor over a Unix socket
// (SCM_RIGHTS) writes what the sender reads back.
TEST(Memfd, SharedThroughForkAndDescriptorPassing) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D05");
  Fd fd(::memfd_create("ipcb-conf-share", 0));
  ASSERT_GE(fd.get(), 0);
  ASSERT_EQ(::ftruncate(fd.get(), 4096), 0);
  int f = fd.get();
  ChildResult forked = run_in_child([f] {
    Mapping m(f, 4096);
    if (!m.ok()) return 1;
    std::memcpy(m.bytes(), "forked", 6);
    return 0;
  });
  EXPECT_CHILD_OK(forked);
  char buf[8] = {};
  ASSERT_EQ(::pread(f, buf, 6, 0), 6);
  EXPECT_EQ(std::string(buf, 6), "forked");
  SocketPair sp(SOCK_STREAM);
  ASSERT_TRUE(sp.ok);
  int theirs = sp.b.get();
  auto receiver = std::async(std::launch::async, [theirs, f] {
    return run_in_child([theirs, f] {
      ReceivedFds got = recv_fds(theirs, 16, 4);
      if (got.fds.size() != 1) return 1;
      struct stat passed {
      }, inherited{};
      if (::fstat(got.fds[0], &passed) != 0 || ::fstat(f, &inherited) != 0) return 2;
      if (passed.st_ino != inherited.st_ino || passed.st_dev != inherited.st_dev) return 3;
      return ::pwrite(got.fds[0], "passed", 6, 8) == 6 ? 0 : 4;
    });
  });
  ASSERT_EQ(send_fds(sp.a.get(), "x", {f}), 1);
  ChildResult passed = receiver.get();
  EXPECT_CHILD_OK(passed) << " (1: no descriptor received, 3: another file)";
  ASSERT_EQ(::pread(fd.get(), buf, 6, 8), 6);
  EXPECT_EQ(std::string(buf, 6), "passed");
}

// The free and the reserved huge pages, from /proc/meminfo.
long meminfo(const std::string& key) {
  std::ifstream f("/proc/meminfo");
  std::string k;
  long v = 0;
  while (f >> k) {
    if (k == key + ":" && (f >> v)) return v;
    f.ignore(1 << 10, '\n');
  }
  return -1;
}
bool no_huge_pages() {
  return meminfo("HugePages_Free") == 0 && read_sysctl("vm.nr_overcommit_hugepages") == 0;
}

// memfd_create(2) MFD_HUGETLB with no huge page to be had: the file is created (also by an
// unprivileged caller, and with MFD_ALLOW_SEALING), ftruncate sizes it, mmap fails ENOMEM.
// The man page's EPERM for unprivileged callers and EINVAL for MFD_HUGETLB|MFD_ALLOW_SEALING
// are not what Linux does: it checks hugetlb privileges only for SysV SHM_HUGETLB.
TEST(Memfd, HugetlbWithoutHugePagesCreatesButCannotMap) {
  CONFORM_MAN("memfd_create(2)");
  CONFORM_ROWS("D15");
  if (meminfo("Hugepagesize") <= 0) CONFORM_SKIP("no huge pages in this kernel (CONFIG_HUGETLBFS)");
  if (!no_huge_pages()) {
    CONFORM_SKIP(
        "huge pages are available here (HugePages_Free or nr_overcommit_hugepages "
        "nonzero): the case without them cannot be seen");
  }
  long hps = meminfo("Hugepagesize") * 1024;
  ChildResult r = unprivileged([hps] {
    for (unsigned flags : {MFD_HUGETLB, MFD_HUGETLB | MFD_ALLOW_SEALING}) {
      int fd = ::memfd_create("ipcb-conf-huge", flags);
      if (fd < 0) return flags == MFD_HUGETLB ? 1 : 2;
      if (::ftruncate(fd, hps) != 0) return 3;
      void* p =
          ::mmap(nullptr, static_cast<size_t>(hps), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p != MAP_FAILED) return no_huge_pages() ? 4 : kSkipCode;  // the pool changed meanwhile
      if (errno != ENOMEM) return 5;
      ::close(fd);
    }
    return 0;
  });
  SKIP_IF_CHILD_SKIPPED(r, "huge pages became available during the test");
  EXPECT_CHILD_OK(r) << " (1: EPERM/error without sealing, 2: with sealing, 4: mmap worked, "
                        "5: mmap failed otherwise than ENOMEM)";
}

}  // namespace
}  // namespace ipcb::conform
