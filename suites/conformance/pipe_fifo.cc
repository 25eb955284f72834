// Conformance of pipes and FIFOs: pipe(7), fifo(7), pipe(2), the pipe capacity operations of
// fcntl(2) and their readiness in poll(2)/select(2). Exclusive create, open without create,
// persistence, permissions and removal of FIFOs are the shared behaviours (shared.cc).
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <vector>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

// An owned file descriptor, closed when the scope ends.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Both ends of a pipe made with pipe2(flags); ok is false if pipe2 failed (errno kept in err).
struct PipeFds {
  Fd r, w;
  bool ok = false;
  int err = 0;
  explicit PipeFds(int flags = 0) {
    int fds[2];
    ok = ::pipe2(fds, flags) == 0;
    if (!ok) {
      err = errno;
      return;
    }
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
};

// errno of a failed call, 0 if it succeeded (evaluate the call as the argument).
int err_of(long rc) {
  return rc < 0 ? errno : 0;
}

long page_size() {
  return ::sysconf(_SC_PAGESIZE);
}

// Writes page-sized records to a non-blocking write end until it would block; returns the
// bytes written.
long fill(int w) {
  std::vector<char> page(static_cast<size_t>(page_size()), 'x');
  long total = 0;
  for (long n; (n = ::write(w, page.data(), page.size())) > 0;) total += n;
  return total;
}

// Runs `fn` in a forked child while the test goes on and returns once the child runs (so it
// holds every descriptor the test has open now); get() waits for how it ended.
std::future<ChildResult> in_child_async(std::function<int()> fn, int timeout_ms = 5000) {
  PipeFds started;
  int w = started.w.get();
  auto child = std::async(std::launch::async, [fn, timeout_ms, w] {
    return run_in_child([&] { return ::write(w, "s", 1) == 1 ? fn() : 120; }, timeout_ms);
  });
  pollfd p{started.r.get(), POLLIN, 0};
  ::poll(&p, 1, timeout_ms);  // a failed fork shows in get()
  return child;
}

// Revents of `fd` for `events` after waiting up to `ms` (0 if nothing is ready).
short poll_one(int fd, short events, int ms = 0) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms) == 1 ? p.revents : 0;
}

// Ignores `sig` for the scope (a write to a pipe without readers then fails with EPIPE).
class ScopedIgnore {
 public:
  explicit ScopedIgnore(int sig) : sig_(sig) { old_ = ::signal(sig, SIG_IGN); }
  ~ScopedIgnore() { ::signal(sig_, old_); }
  ScopedIgnore(const ScopedIgnore&) = delete;
  ScopedIgnore& operator=(const ScopedIgnore&) = delete;

 private:
  int sig_;
  sighandler_t old_;
};

// --- atomicity and partial transfers -------------------------------------------------------

// pipe(7): writes of up to PIPE_BUF bytes are atomic: records of several concurrent writers
// are never interleaved.
TEST(Pipe, WritesUpToPipeBufAreAtomicUnderConcurrentWriters) {
  CONFORM_MAN("pipe(7)");
  constexpr int kWriters = 4, kRecords = 32;
  PipeFds p;
  ASSERT_TRUE(p.ok) << strerror(p.err);
  std::vector<std::future<ChildResult>> writers;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(in_child_async([&p, i] {
      std::vector<char> rec(PIPE_BUF, static_cast<char>('A' + i));
      for (int k = 0; k < kRecords; ++k) {
        if (::write(p.w.get(), rec.data(), rec.size()) != PIPE_BUF) return 1;
      }
      return 0;
    }));
  }
  p.w.reset();  // EOF once every writer is done
  std::vector<char> all(PIPE_BUF * kWriters * kRecords + 1);
  size_t got = 0;
  for (long n; (n = ::read(p.r.get(), all.data() + got, all.size() - got)) > 0;) got += n;
  for (auto& w : writers) EXPECT_TRUE(w.get().exited) << "writer did not finish";
  ASSERT_EQ(got, all.size() - 1);
  std::vector<int> per_writer(kWriters);
  for (size_t off = 0; off < got; off += PIPE_BUF) {
    char c = all[off];
    ASSERT_TRUE(c >= 'A' && c < 'A' + kWriters) << "record at " << off;
    for (size_t i = 1; i < PIPE_BUF; ++i) ASSERT_EQ(all[off + i], c) << "interleaved at " << off;
    ++per_writer[c - 'A'];
  }
  for (int n : per_writer) EXPECT_EQ(n, kRecords);
}

// pipe(7): O_NONBLOCK, n <= PIPE_BUF: all n bytes are written, or none and EAGAIN (no partial
// write even though some room is left).
TEST(Pipe, NonblockingWriteUpToPipeBufIsAllOrEagain) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  long cap = ::fcntl(p.w.get(), F_GETPIPE_SZ);
  ASSERT_GT(cap, PIPE_BUF);
  std::vector<char> buf(cap, 'x');
  ASSERT_EQ(::write(p.w.get(), buf.data(), buf.size() - 100), cap - 100);  // 100 bytes of room left
  EXPECT_EQ(err_of(::write(p.w.get(), buf.data(), PIPE_BUF)), EAGAIN);
  EXPECT_EQ(::write(p.w.get(), buf.data(), 100), 100);
}

// pipe(7): O_NONBLOCK, n > PIPE_BUF: if there is room, from 1 to n bytes may be written (a
// partial write); if there is no room, EAGAIN.
TEST(Pipe, NonblockingWriteAbovePipeBufMayBePartial) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  long cap = ::fcntl(p.w.get(), F_GETPIPE_SZ);
  std::vector<char> buf(cap + PIPE_BUF, 'x');
  long n = ::write(p.w.get(), buf.data(), buf.size());
  EXPECT_GT(n, 0);
  EXPECT_LT(n, static_cast<long>(buf.size()));
  EXPECT_EQ(err_of(::write(p.w.get(), buf.data(), buf.size())), EAGAIN);
}

// read(2): fewer bytes than requested is not an error; a pipe returns what it holds at once.
TEST(Pipe, ReadReturnsAvailableBytesWithoutWaitingForMore) {
  CONFORM_MAN("read(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(::write(p.w.get(), "0123456789", 10), 10);
  char buf[100];
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 10);
}

// pipe(7): ioctl(FIONREAD) reports the number of unread bytes in the pipe.
TEST(Pipe, FionreadReportsUnreadBytes) {
  CONFORM_MAN("pipe(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(::write(p.w.get(), "abcdefg", 7), 7);
  int n = -1;
  ASSERT_EQ(::ioctl(p.r.get(), FIONREAD, &n), 0);
  EXPECT_EQ(n, 7);
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
  EXPECT_EQ(fill(p.w.get()), ::fcntl(p.w.get(), F_GETPIPE_SZ));
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
  EXPECT_EQ(err_of(::fcntl(p.w.get(), F_SETPIPE_SZ, page_size())), EBUSY);
}

// Exit code of a child (as nobody when root) that sets a fresh pipe's capacity: 0 or errno.
ChildResult set_pipe_size_unprivileged(long size) {
  return run_in_child([size] {
    if (is_root() && !drop_to_nobody()) return 100;
    int fds[2];
    if (::pipe(fds) != 0) return 101;
    return err_of(::fcntl(fds[1], F_SETPIPE_SZ, size));
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
    if (try_grow && err_of(::fcntl(fds[1], F_SETPIPE_SZ, 16 * page_size())) != EPERM) return 150;
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

// --- end of file, broken pipe, would block, signals ----------------------------------------

// pipe(7): a read from a pipe whose write ends are all closed sees end-of-file (0).
TEST(Pipe, ReadWithNoWritersReturnsEof) {
  CONFORM_MAN("pipe(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(::write(p.w.get(), "z", 1), 1);
  p.w.reset();
  char c;
  EXPECT_EQ(::read(p.r.get(), &c, 1), 1);  // data written before the close is still read
  EXPECT_EQ(::read(p.r.get(), &c, 1), 0);
}

// pipe(7): a write to a pipe whose read ends are all closed raises SIGPIPE.
TEST(Pipe, WriteWithNoReadersRaisesSigpipe) {
  CONFORM_MAN("pipe(7)");
  ChildResult r = run_in_child([] {
    ::signal(SIGPIPE, SIG_DFL);
    int fds[2];
    if (::pipe(fds) != 0) return 100;
    ::close(fds[0]);
    return ::write(fds[1], "x", 1) < 0 ? errno : 0;
  });
  EXPECT_EQ(r.signal, SIGPIPE) << r.describe();
}

// pipe(7): with SIGPIPE ignored, the write fails with EPIPE instead.
TEST(Pipe, WriteWithNoReadersFailsEpipeWhenSigpipeIgnored) {
  CONFORM_MAN("pipe(7)");
  ScopedIgnore ignore(SIGPIPE);
  PipeFds p;
  ASSERT_TRUE(p.ok);
  p.r.reset();
  EXPECT_EQ(err_of(::write(p.w.get(), "x", 1)), EPIPE);
}

// pipe(7): the death of the only writer (killed) is seen by the reader as end-of-file.
TEST(Pipe, WriterDeathSeenAsEof) {
  CONFORM_MAN("pipe(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  ChildResult r = run_in_child([&p] {
    if (::write(p.w.get(), "x", 1) != 1) return 1;
    ::raise(SIGKILL);
    return 2;
  });
  ASSERT_EQ(r.signal, SIGKILL) << r.describe();
  p.w.reset();
  char buf[4];
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 1);
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 0);
}

// pipe(7): the death of the only reader (killed) is seen by the writer as EPIPE.
TEST(Pipe, ReaderDeathSeenAsEpipe) {
  CONFORM_MAN("pipe(7)");
  ScopedIgnore ignore(SIGPIPE);
  PipeFds p;
  ASSERT_TRUE(p.ok);
  auto reader = in_child_async([&p] {
    char c;
    if (::read(p.r.get(), &c, 1) != 1) return 1;
    ::raise(SIGKILL);
    return 2;
  });
  p.r.reset();  // the child holds the only read end now
  ASSERT_EQ(::write(p.w.get(), "x", 1), 1);
  ChildResult r = reader.get();
  ASSERT_EQ(r.signal, SIGKILL) << r.describe();
  EXPECT_EQ(err_of(::write(p.w.get(), "x", 1)), EPIPE);
}

// pipe(7): O_NONBLOCK read from an empty pipe with a writer fails with EAGAIN.
TEST(Pipe, NonblockingReadOnEmptyFailsEagain) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  char c;
  EXPECT_EQ(err_of(::read(p.r.get(), &c, 1)), EAGAIN);
}

// pipe(7): O_NONBLOCK write to a full pipe fails with EAGAIN.
TEST(Pipe, NonblockingWriteOnFullFailsEagain) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  ASSERT_GT(fill(p.w.get()), 0);
  EXPECT_EQ(err_of(::write(p.w.get(), "x", 1)), EAGAIN);
}

// signal(7): a blocking read on a pipe interrupted by a handler without SA_RESTART fails with
// EINTR.
TEST(Pipe, BlockingReadInterruptedBySignalFailsEintr) {
  CONFORM_MAN("signal(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  char c;
  EXPECT_EQ(err_of(::read(p.r.get(), &c, 1)), EINTR);
}

// lseek(2): ESPIPE on a pipe.
TEST(Pipe, LseekFailsEspipe) {
  CONFORM_MAN("lseek(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(err_of(::lseek(p.r.get(), 0, SEEK_SET)), ESPIPE);
}

// pipe(2): pipefd[0] is the read end only: writing to it fails with EBADF (write(2)).
TEST(Pipe, WriteToReadEndFailsEbadf) {
  CONFORM_MAN("pipe(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(err_of(::write(p.r.get(), "x", 1)), EBADF);
}

// --- readiness ----------------------------------------------------------------------------

// poll(2): the read end is readable (POLLIN) only while the pipe holds data.
TEST(Pipe, PollReportsPollinOnlyWithData) {
  CONFORM_MAN("poll(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(poll_one(p.r.get(), POLLIN), 0);
  ASSERT_EQ(::write(p.w.get(), "x", 1), 1);
  EXPECT_EQ(poll_one(p.r.get(), POLLIN), POLLIN);
}

// poll(2): POLLHUP on the read end once the peer closed the write end.
TEST(Pipe, PollReportsPollhupWhenWriterCloses) {
  CONFORM_MAN("poll(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  p.w.reset();
  EXPECT_TRUE(poll_one(p.r.get(), POLLIN) & POLLHUP);
}

// poll(2): POLLERR on the write end of a pipe whose read end has been closed.
TEST(Pipe, PollReportsPollerrWhenReaderCloses) {
  CONFORM_MAN("poll(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  p.r.reset();
  EXPECT_TRUE(poll_one(p.w.get(), POLLOUT) & POLLERR);
}

// select(2): the write end is writable while the pipe has room and not once it is full.
TEST(Pipe, SelectReportsWritableUntilFull) {
  CONFORM_MAN("select(2)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  auto writable = [&p] {
    fd_set w;
    FD_ZERO(&w);
    FD_SET(p.w.get(), &w);
    timeval tv{0, 0};
    return ::select(p.w.get() + 1, nullptr, &w, nullptr, &tv) == 1;
  };
  EXPECT_TRUE(writable());
  ASSERT_GT(fill(p.w.get()), 0);
  EXPECT_FALSE(writable());
}

// --- pipe2 flags --------------------------------------------------------------------------

// pipe2(2): O_CLOEXEC sets FD_CLOEXEC on both new descriptors; pipe() does not.
TEST(Pipe, Pipe2CloexecSetsCloseOnExec) {
  CONFORM_MAN("pipe(2)");
  PipeFds plain, cloexec(O_CLOEXEC);
  ASSERT_TRUE(plain.ok && cloexec.ok);
  EXPECT_EQ(::fcntl(plain.r.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(cloexec.r.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(cloexec.w.get(), F_GETFD) & FD_CLOEXEC, 0);
}

// pipe2(2): O_NONBLOCK sets the flag on both open file descriptions.
TEST(Pipe, Pipe2NonblockSetsBothEnds) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  EXPECT_NE(::fcntl(p.r.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(p.w.get(), F_GETFL) & O_NONBLOCK, 0);
}

// pipe2(2): an invalid flag fails with EINVAL.
TEST(Pipe, Pipe2InvalidFlagsFailsEinval) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(0x40000000);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.err, EINVAL);
}

// pipe2(2) O_DIRECT: each write is a packet and each read returns one packet.
TEST(Pipe, Pipe2DirectReadsOnePacketAtATime) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(O_DIRECT);
  if (!p.ok && p.err == EINVAL) CONFORM_SKIP("O_DIRECT pipes not supported (before Linux 3.4)");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(::write(p.w.get(), "abc", 3), 3);
  ASSERT_EQ(::write(p.w.get(), "de", 2), 2);
  char buf[64];
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 3);
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 2);
}

// pipe2(2) O_DIRECT: a read smaller than the next packet returns the bytes asked for and
// discards the rest of the packet.
TEST(Pipe, Pipe2DirectShortReadDiscardsRestOfPacket) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(O_DIRECT);
  if (!p.ok && p.err == EINVAL) CONFORM_SKIP("O_DIRECT pipes not supported (before Linux 3.4)");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(::write(p.w.get(), "abcdef", 6), 6);
  ASSERT_EQ(::write(p.w.get(), "XY", 2), 2);
  char buf[64];
  ASSERT_EQ(::read(p.r.get(), buf, 2), 2);
  ASSERT_EQ(::read(p.r.get(), buf, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 2), "XY");
}

// pipe2(2) O_DIRECT: writes larger than PIPE_BUF are split into packets of PIPE_BUF.
TEST(Pipe, Pipe2DirectSplitsWritesAbovePipeBuf) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(O_DIRECT);
  if (!p.ok && p.err == EINVAL) CONFORM_SKIP("O_DIRECT pipes not supported (before Linux 3.4)");
  ASSERT_TRUE(p.ok);
  std::vector<char> buf(2 * PIPE_BUF + 10, 'x');
  ASSERT_EQ(::write(p.w.get(), buf.data(), buf.size()), static_cast<long>(buf.size()));
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), PIPE_BUF);
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), PIPE_BUF);
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), 10);
}

// --- FIFOs --------------------------------------------------------------------------------

// A FIFO (mode 0600) at a fresh path in a private directory, removed with the directory.
struct FifoPath {
  TempDir dir;
  std::string path = dir.file("fifo");
  bool ok = ::mkfifo(path.c_str(), 0600) == 0;
};

// mkfifo(3): makes a FIFO special file whose permissions are mode & ~umask.
TEST(Fifo, MkfifoMakesFifoWithModeMaskedByUmask) {
  CONFORM_MAN("mkfifo(3)");
  TempDir dir;
  std::string path = dir.file("fifo");
  ChildResult r = run_in_child([&path] {  // umask is per process: change it in a child
    ::umask(022);
    struct stat st {};
    if (::mkfifo(path.c_str(), 0666) != 0 || ::stat(path.c_str(), &st) != 0) return 1;
    if (!S_ISFIFO(st.st_mode)) return 2;
    return (st.st_mode & 0777) == 0644 ? 0 : 3;
  });
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe() << " (1 failed, 2 not a FIFO, 3 mode)";
}

// mkfifo(3): ENOENT when a directory component of the path does not exist.
TEST(Fifo, MkfifoInMissingDirectoryFailsEnoent) {
  CONFORM_MAN("mkfifo(3)");
  TempDir dir;
  EXPECT_EQ(err_of(::mkfifo(dir.file("missing/fifo").c_str(), 0600)), ENOENT);
}

// fifo(7): O_RDONLY|O_NONBLOCK opens succeed even when no one has the write side open.
TEST(Fifo, NonblockingReadOpenSucceedsWithoutWriter) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  EXPECT_GE(r.get(), 0) << strerror(errno);
}

// fifo(7): O_WRONLY|O_NONBLOCK fails with ENXIO unless the other end has been opened.
TEST(Fifo, NonblockingWriteOpenFailsEnxioWithoutReader) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  EXPECT_EQ(w.get() < 0 ? errno : 0, ENXIO);
}

// fifo(7): O_WRONLY|O_NONBLOCK succeeds once a reader has the FIFO open.
TEST(Fifo, NonblockingWriteOpenSucceedsWithReader) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_GE(r.get(), 0);
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  EXPECT_GE(w.get(), 0) << strerror(errno);
}

// fifo(7): a blocking open of one end waits until the other end is opened. A child opens with
// `child_flags` and reports through a pipe; the parent checks it still waits, then opens the
// other end (non-blocking, so a failed child cannot hang the test).
void expect_open_waits_for_peer(int child_flags, int parent_flags) {
  FifoPath f;
  PipeFds ready;
  ASSERT_TRUE(f.ok && ready.ok);
  auto child = in_child_async([&] {
    int fd = ::open(f.path.c_str(), child_flags);
    if (fd < 0) return 1;
    return ::write(ready.w.get(), "o", 1) == 1 ? 0 : 2;
  });
  EXPECT_EQ(poll_one(ready.r.get(), POLLIN, 30), 0) << "open returned without a peer";
  Fd peer(::open(f.path.c_str(), parent_flags));
  EXPECT_GE(peer.get(), 0) << strerror(errno);
  EXPECT_EQ(poll_one(ready.r.get(), POLLIN, 5000), POLLIN) << "open did not return with a peer";
  ChildResult r = child.get();
  EXPECT_TRUE(r.exited && r.code == 0) << r.describe();
}

// fifo(7): opening for reading blocks until another process opens the FIFO for writing.
TEST(Fifo, BlockingReadOpenWaitsForWriter) {
  CONFORM_MAN("fifo(7)");
  expect_open_waits_for_peer(O_RDONLY, O_WRONLY | O_NONBLOCK);
}

// fifo(7): opening for writing blocks until another process opens the FIFO for reading.
TEST(Fifo, BlockingWriteOpenWaitsForReader) {
  CONFORM_MAN("fifo(7)");
  expect_open_waits_for_peer(O_WRONLY, O_RDONLY | O_NONBLOCK);
}

// fifo(7): under Linux, opening a FIFO for read and write succeeds without a peer, blocking or
// not (POSIX leaves it undefined).
TEST(Fifo, ReadWriteOpenSucceedsWithoutPeer) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd blocking(::open(f.path.c_str(), O_RDWR));
  EXPECT_GE(blocking.get(), 0) << strerror(errno);
  Fd nonblocking(::open(f.path.c_str(), O_RDWR | O_NONBLOCK));
  EXPECT_GE(nonblocking.get(), 0) << strerror(errno);
}

// signal(7): open(2) of a FIFO that blocks is interrupted by a handler: EINTR.
TEST(Fifo, BlockingOpenInterruptedBySignalFailsEintr) {
  CONFORM_MAN("signal(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  Fd r(::open(f.path.c_str(), O_RDONLY));
  EXPECT_EQ(r.get() < 0 ? errno : 0, EINTR);
}

// fifo(7): the kernel passes the data internally; the FIFO file has no contents (size 0).
TEST(Fifo, DataPassesWithoutFileContents) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  ASSERT_TRUE(r.get() >= 0 && w.get() >= 0);
  ASSERT_EQ(::write(w.get(), "hello", 5), 5);
  struct stat st {};
  ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  char buf[8];
  EXPECT_EQ(::read(r.get(), buf, sizeof buf), 5);
}

// unlink(2): a removed FIFO stays in existence while it is open: data still passes.
TEST(Fifo, UnlinkedFifoKeepsPassingDataWhileOpen) {
  CONFORM_MAN("unlink(2)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  ASSERT_TRUE(r.get() >= 0 && w.get() >= 0);
  ASSERT_EQ(::unlink(f.path.c_str()), 0);
  ASSERT_EQ(::write(w.get(), "abc", 3), 3);
  char buf[8];
  EXPECT_EQ(::read(r.get(), buf, sizeof buf), 3);
}

}  // namespace
}  // namespace ipcb::conform
