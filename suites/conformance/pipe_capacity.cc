// The capacity of pipes: pipe(7) defaults, fcntl(2) F_GETPIPE_SZ / F_SETPIPE_SZ rounding and
// errors, fs.pipe-max-size with and without CAP_SYS_RESOURCE, and the per-user page limits.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

long page_size() {
  return ::sysconf(_SC_PAGESIZE);
}

// --- capacity -----------------------------------------------------------------------------

// pipe(7): since Linux 2.6.11 the capacity is 16 pages (65536 bytes with 4 KiB pages).
TEST(Pipe, DefaultCapacityIsSixteenPages) {
  CONFORM_MAN("pipe(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.w.get(), F_GETPIPE_SZ), 16 * page_size());
}

// pipe(7): a full pipe holds exactly its capacity; then a write blocks (here: EAGAIN).
TEST(Pipe, FullPipeHoldsExactlyItsCapacity) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(fill_pipe(p.w.get()), ::fcntl(p.w.get(), F_GETPIPE_SZ));
}

// fcntl(2) F_SETPIPE_SZ: the capacity becomes the next power-of-two multiple of the page size
// at or above the request, and the call returns it.
TEST(Pipe, SetPipeSzRoundsUpToPowerOfTwoPages) {
  CONFORM_MAN("fcntl(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  long pg = page_size();
  EXPECT_EQ(::fcntl(p.w.get(), F_SETPIPE_SZ, pg + 1), 2 * pg);
  EXPECT_EQ(::fcntl(p.w.get(), F_SETPIPE_SZ, 3 * pg), 4 * pg);
  EXPECT_EQ(::fcntl(p.w.get(), F_GETPIPE_SZ), 4 * pg);
}

// fcntl(2) F_SETPIPE_SZ: a request below the page size is silently rounded up to one page.
TEST(Pipe, SetPipeSzBelowPageGivesOnePage) {
  CONFORM_MAN("fcntl(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.w.get(), F_SETPIPE_SZ, 1), page_size());
}

// fcntl(2) F_SETPIPE_SZ: EBUSY when the new capacity is smaller than the data in the pipe.
TEST(Pipe, SetPipeSzBelowBufferedDataFailsEbusy) {
  CONFORM_MAN("fcntl(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  std::vector<char> buf(3 * page_size(), 'x');
  ASSERT_EQ(::write(p.w.get(), buf.data(), buf.size()), static_cast<long>(buf.size()));
  EXPECT_EQ(failed_with(::fcntl(p.w.get(), F_SETPIPE_SZ, page_size())), EBUSY);
}

// Exit code of a child (as nobody when root) that sets a fresh pipe's capacity: 0 or errno.
ChildResult set_pipe_size_unprivileged(long size) {
  return run_in_child([size] {
    if (is_root() && !drop_to_nobody()) return 100;
    int fds[2];
    if (::pipe(fds) != 0) return 101;
    return failed_with(::fcntl(fds[1], F_SETPIPE_SZ, size));
  });
}

// fcntl(2): an unprivileged process may set the capacity up to /proc/sys/fs/pipe-max-size.
TEST(Pipe, SetPipeSzAtMaxSucceedsUnprivileged) {
  CONFORM_MAN("fcntl(2)");
  auto max = read_sysctl("fs.pipe-max-size");
  if (!max) CONFORM_SKIP("cannot read /proc/sys/fs/pipe-max-size");
  if (*max > 64 << 20) CONFORM_SKIP("fs.pipe-max-size above 64 MiB: too large to allocate here");
  ChildResult r = set_pipe_size_unprivileged(*max);
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, 0) << strerror(r.code);
}

// fcntl(2), pipe(7): an unprivileged process setting the capacity above pipe-max-size gets
// EPERM.
TEST(Pipe, SetPipeSzAboveMaxFailsEpermUnprivileged) {
  CONFORM_MAN("fcntl(2)");
  auto max = read_sysctl("fs.pipe-max-size");
  if (!max) CONFORM_SKIP("cannot read /proc/sys/fs/pipe-max-size");
  if (!is_root() && has_capability(24)) CONFORM_SKIP("runs with CAP_SYS_RESOURCE, not as root");
  ChildResult r = set_pipe_size_unprivileged(*max + 1);
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, EPERM) << strerror(r.code);
}

// pipe(7): a process with CAP_SYS_RESOURCE may exceed pipe-max-size.
TEST(Pipe, SetPipeSzAboveMaxSucceedsWithCapSysResource) {
  CONFORM_MAN("pipe(7)");
  auto max = read_sysctl("fs.pipe-max-size");
  if (!max) CONFORM_SKIP("cannot read /proc/sys/fs/pipe-max-size");
  if (!has_capability(24)) CONFORM_SKIP("needs CAP_SYS_RESOURCE (not in the effective set)");
  if (*max > 16 << 20) CONFORM_SKIP("fs.pipe-max-size above 16 MiB: too large to exceed here");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.w.get(), F_SETPIPE_SZ, *max * 2), *max * 2);
}

// Child as nobody under a changed per-user sysctl: creates one pipe; exit code is pipe's errno
// (0 = created), or 200 + its capacity in pages, or 150 if growing it did not fail with EPERM.
ChildResult pipe_as_nobody(bool try_grow) {
  return run_in_child([try_grow] {
    if (!drop_to_nobody()) return 100;
    int fds[2];
    if (::pipe(fds) != 0) return errno;
    if (try_grow && failed_with(::fcntl(fds[1], F_SETPIPE_SZ, 16 * page_size())) != EPERM)
      return 150;
    return 200 + static_cast<int>(::fcntl(fds[1], F_GETPIPE_SZ) / page_size());
  });
}

// pipe(7) pipe-user-pages-soft: once an unprivileged user is at the soft limit, new pipes are
// limited to one page and growing one is denied. Linux 5.16+ gives 2 pages (see the report).
TEST(Pipe, UserSoftLimitShrinksNewPipesAndDeniesGrowth) {
  CONFORM_MAN("pipe(7)");
  if (!is_root()) CONFORM_SKIP("needs root to set fs.pipe-user-pages-soft and become nobody");
  SysctlGuard soft("fs.pipe-user-pages-soft", 1);
  if (!soft.ok()) CONFORM_SKIP("cannot set fs.pipe-user-pages-soft (read-only /proc/sys?)");
  ChildResult r = pipe_as_nobody(true);
  ASSERT_TRUE(r.exited) << r.describe();
  ASSERT_NE(r.code, 150) << "growing a pipe above the soft limit did not fail with EPERM";
  ASSERT_GT(r.code, 200) << "pipe() failed: " << strerror(r.code);
  EXPECT_LE(r.code - 200, 2) << "pages of a pipe created above the soft limit";
}

// pipe(2), pipe(7) pipe-user-pages-hard: an unprivileged user above the hard limit cannot
// create pipes: ENFILE.
TEST(Pipe, UserHardLimitFailsPipeEnfile) {
  CONFORM_MAN("pipe(2)");
  if (!is_root()) CONFORM_SKIP("needs root to set fs.pipe-user-pages-hard and become nobody");
  SysctlGuard hard("fs.pipe-user-pages-hard", 1);
  if (!hard.ok()) CONFORM_SKIP("cannot set fs.pipe-user-pages-hard (read-only /proc/sys?)");
  ChildResult r = pipe_as_nobody(false);
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, ENFILE) << (r.code >= 200 ? "pipe created" : strerror(r.code));
}

}  // namespace
}  // namespace ipcb::conform
