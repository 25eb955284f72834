// The capacity of pipes: pipe(7) defaults, fcntl(2) F_GETPIPE_SZ / F_SETPIPE_SZ rounding and
// errors, fs.pipe-max-size with and without CAP_SYS_RESOURCE, and the per-user page limits.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

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

// Exit code of a child (as nobody when root) that sets a fresh pipe's capacity: 0 or errno, or
// 102 if the call succeeded with less than `size`.
ChildResult set_pipe_size_unprivileged(long size) {
  return run_in_child([size] {
    if (is_root() && !drop_to_nobody()) return 100;
    int fds[2];
    if (::pipe(fds) != 0) return 101;
    int rc = failed_with(::fcntl(fds[1], F_SETPIPE_SZ, size));
    if (rc != 0) return rc;
    return ::fcntl(fds[1], F_GETPIPE_SZ) >= size && ::fcntl(fds[0], F_GETPIPE_SZ) >= size ? 0 : 102;
  });
}

// fcntl(2) F_SETPIPE_SZ: a request below the page size (1, and 0 on the read end) is silently
// rounded up to one page, which both ends then report; once that page is full, a blocking writer
// sleeps until a reader makes room.
TEST(Pipe, SetPipeSzBelowPageGivesOnePage) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("I18");
  PipeFds one;
  ASSERT_TRUE(one.ok);
  EXPECT_EQ(::fcntl(one.w.get(), F_SETPIPE_SZ, 1), page_size());
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.r.get(), F_SETPIPE_SZ, 0), page_size());
  EXPECT_EQ(::fcntl(p.r.get(), F_GETPIPE_SZ), page_size());
  EXPECT_EQ(::fcntl(p.w.get(), F_GETPIPE_SZ), page_size());
  std::vector<char> page(static_cast<size_t>(page_size()), 'p');
  ASSERT_EQ(::write(p.w.get(), page.data(), page.size()), page_size());
  AsyncChild writer([&p](const AsyncChild::Ready& ready) {
    ready();
    return ::write(p.w.get(), "x", 1) == 1 ? 0 : 1;
  });
  ASSERT_TRUE(writer.wait_blocked()) << "a write into the full one-page pipe did not sleep";
  ASSERT_EQ(::read(p.r.get(), page.data(), page.size()), page_size());
  ChildResult r = writer.wait();
  EXPECT_CHILD_OK(r) << " (the writer did not finish once there was room)";
}

// fcntl(2) F_SETPIPE_SZ: EINVAL for a size above 2^31 (no power-of-two page count fits), EBUSY
// for one smaller than the data already in the pipe, and, without CAP_SYS_RESOURCE (as nobody
// when root), EPERM above /proc/sys/fs/pipe-max-size.
TEST(Pipe, SetPipeSzBadSizesFailEinvalEbusyEperm) {
  CONFORM_MAN("fcntl(2)");
  CONFORM_ROWS("I20");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::fcntl(p.w.get(), F_SETPIPE_SZ, (1U << 31) + 1)), EINVAL);
  std::vector<char> buf(3 * page_size(), 'x');
  ASSERT_EQ(::write(p.w.get(), buf.data(), buf.size()), static_cast<long>(buf.size()));
  EXPECT_EQ(failed_with(::fcntl(p.w.get(), F_SETPIPE_SZ, page_size())), EBUSY);
  auto max = read_sysctl("fs.pipe-max-size");
  if (!max) CONFORM_SKIP("cannot read /proc/sys/fs/pipe-max-size");
  if (!is_root() && has_capability(kCapSysResource)) {
    CONFORM_SKIP("runs with CAP_SYS_RESOURCE, not as root: cannot drop it for the EPERM case");
  }
  ChildResult r = set_pipe_size_unprivileged(*max + 1);
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, EPERM) << strerror(r.code);
}

// fcntl(2): an unprivileged process may set the capacity up to /proc/sys/fs/pipe-max-size;
// F_GETPIPE_SZ then reports at least that much.
void at_max_succeeds_unprivileged(long long max) {
  if (max > 64 << 20) CONFORM_SKIP("fs.pipe-max-size above 64 MiB: too large to allocate here");
  ChildResult r = set_pipe_size_unprivileged(max);
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, 0) << (r.code == 102 ? "capacity below the request" : strerror(r.code));
}

// pipe(7): a process with CAP_SYS_RESOURCE may exceed pipe-max-size.
void above_max_succeeds_with_cap_sys_resource(long long max) {
  if (!has_capability(kCapSysResource)) {
    CONFORM_SKIP("needs CAP_SYS_RESOURCE (not in this process's effective set)");
  }
  if (max > 16 << 20) CONFORM_SKIP("fs.pipe-max-size above 16 MiB: too large to exceed here");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.w.get(), F_SETPIPE_SZ, max * 2), max * 2);
}

// A check made against the value of /proc/sys/fs/pipe-max-size.
struct MaxSizeCase {
  CaseInfo info;
  void (*check)(long long max);
};
void with_pipe_max_size(const MaxSizeCase& c) {
  auto max = read_sysctl("fs.pipe-max-size");
  if (!max) CONFORM_SKIP("cannot read /proc/sys/fs/pipe-max-size");
  c.check(*max);
}
const MaxSizeCase kMaxSize[] = {
    {{"SetPipeSzAtMaxSucceedsUnprivileged", "fcntl(2)", "I19"}, at_max_succeeds_unprivileged},
    {{"SetPipeSzAboveMaxSucceedsWithCapSysResource", "pipe(7)"},
     above_max_succeeds_with_cap_sys_resource},
};
CONFORM_CASES("Pipe", kMaxSize, with_pipe_max_size);

// Writes `cap` bytes into the empty pipe `fds` and reads them back, three times: 0 if all went.
int fill_and_drain(const int fds[2], long cap) {
  std::vector<char> buf(static_cast<size_t>(cap), 'u');
  for (int round = 0; round < 3; ++round) {
    if (::write(fds[1], buf.data(), buf.size()) != cap) return 1;
    for (long got = 0, n; got < cap; got += n) {
      if ((n = ::read(fds[0], buf.data(), buf.size())) <= 0) return 2;
    }
  }
  return 0;
}

// Child as nobody under a changed per-user sysctl: creates one pipe; exit code is pipe's errno
// (0 = created), or 200 + its capacity in pages, or 150 if growing it did not fail with EPERM,
// or 160 if writing and reading its capacity failed (a hang is a timeout: 2 s).
ChildResult pipe_as_nobody(bool try_grow) {
  return run_in_child(
      [try_grow] {
        if (!drop_to_nobody()) return 100;
        int fds[2];
        if (::pipe(fds) != 0) return errno;
        if (try_grow && failed_with(::fcntl(fds[1], F_SETPIPE_SZ, 16 * page_size())) != EPERM)
          return 150;
        long cap = ::fcntl(fds[1], F_GETPIPE_SZ);
        if (try_grow && fill_and_drain(fds, cap) != 0) return 160;
        return 200 + static_cast<int>(cap / page_size());
      },
      2000);
}

// A per-user pipe page limit set to 1 while a child as nobody makes a pipe (pipe_as_nobody):
// the sysctl, whether the child tries to grow the pipe, and what its result must show.
struct UserLimitCase {
  CaseInfo info;
  const char* sysctl;
  bool try_grow;
  void (*check)(const ChildResult& r);
};

void pipe_under_user_limit(const UserLimitCase& c) {
  std::string name = c.sysctl;
  if (!is_root()) CONFORM_SKIP("needs root to set " + name + " and become nobody");
  SysctlGuard limit(name, 1);
  if (!limit.ok()) CONFORM_SKIP("cannot set " + name + " (read-only /proc/sys?)");
  ChildResult r = pipe_as_nobody(c.try_grow);
  ASSERT_TRUE(r.exited) << r.describe();
  c.check(r);
}

// pipe(7) pipe-user-pages-soft: once an unprivileged user is at the soft limit, new pipes are
// limited to one page and growing one is denied. Linux 5.16+ gives 2 pages (see the report).
// Writing and reading such a pipe's whole capacity never hangs.
void soft_limit_shrinks_and_denies_growth(const ChildResult& r) {
  ASSERT_NE(r.code, 150) << "growing a pipe above the soft limit did not fail with EPERM";
  ASSERT_NE(r.code, 160) << "writing and reading the pipe's capacity failed";
  ASSERT_GT(r.code, 200) << "pipe() failed: " << strerror(r.code);
  EXPECT_LE(r.code - 200, 2) << "pages of a pipe created above the soft limit";
}

// pipe(2), pipe(7) pipe-user-pages-hard: an unprivileged user above the hard limit cannot
// create pipes: ENFILE.
void hard_limit_fails_enfile(const ChildResult& r) {
  EXPECT_EQ(r.code, ENFILE) << (r.code >= 200 ? "pipe created" : strerror(r.code));
}

const UserLimitCase kUserLimits[] = {
    {{"UserSoftLimitShrinksNewPipesAndDeniesGrowth", "pipe(7)", "I15"},
     "fs.pipe-user-pages-soft",
     true,
     soft_limit_shrinks_and_denies_growth},
    {{"UserHardLimitFailsPipeEnfile", "pipe(2)"},
     "fs.pipe-user-pages-hard",
     false,
     hard_limit_fails_enfile},
};
CONFORM_CASES("Pipe", kUserLimits, pipe_under_user_limit);

// pipe(7) pipe-max-size: a new pipe's capacity is capped at pipe-max-size when that is below the
// default for a process without CAP_SYS_RESOURCE (since Linux 4.14); one with CAP_SYS_RESOURCE
// still gets 16 pages. pipe-max-size is machine-wide: lowered to 4 pages for this test only.
TEST(Pipe, LoweredPipeMaxSizeCapsNewPipesWithoutCapSysResource) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I21");
  if (!is_root()) CONFORM_SKIP("needs root to set fs.pipe-max-size (machine-wide)");
  SysctlGuard max("fs.pipe-max-size", 4 * page_size());
  if (!max.ok()) CONFORM_SKIP("cannot set fs.pipe-max-size (read-only /proc/sys?)");
  ChildResult r = run_in_child([] {
    if (!drop_to_nobody()) return 100;
    int fds[2];
    return ::pipe(fds) == 0 ? static_cast<int>(::fcntl(fds[1], F_GETPIPE_SZ) / page_size()) : 101;
  });
  EXPECT_EQ(r.code, 4) << r.describe() << " (pages of a new pipe)";
  if (!has_capability(kCapSysResource)) {
    CONFORM_SKIP(
        "the privileged half needs CAP_SYS_RESOURCE, which this process lacks (not in "
        "its bounding set)");
  }
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(::fcntl(p.w.get(), F_GETPIPE_SZ), 16 * page_size());
}

}  // namespace
}  // namespace ipcb::conform
