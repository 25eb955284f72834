// Conformance of pipes: pipe(7), pipe(2), the pipe capacity operations of fcntl(2) and their
// readiness in poll(2)/select(2); capacity and its limits are in pipe_capacity.cc. FIFOs are in
// fifo.cc; exclusive create, open without create, persistence, permissions and removal of FIFOs are
// the shared behaviours (shared.cc).
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

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
  EXPECT_EQ(failed_with(::write(p.w.get(), buf.data(), PIPE_BUF)), EAGAIN);
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
  EXPECT_EQ(failed_with(::write(p.w.get(), buf.data(), buf.size())), EAGAIN);
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
  EXPECT_EQ(failed_with(::write(p.w.get(), "x", 1)), EPIPE);
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
  EXPECT_EQ(failed_with(::write(p.w.get(), "x", 1)), EPIPE);
}

// pipe(7): O_NONBLOCK read from an empty pipe with a writer fails with EAGAIN.
TEST(Pipe, NonblockingReadOnEmptyFailsEagain) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  char c;
  EXPECT_EQ(failed_with(::read(p.r.get(), &c, 1)), EAGAIN);
}

// pipe(7): O_NONBLOCK write to a full pipe fails with EAGAIN.
TEST(Pipe, NonblockingWriteOnFullFailsEagain) {
  CONFORM_MAN("pipe(7)");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  ASSERT_GT(fill_pipe(p.w.get()), 0);
  EXPECT_EQ(failed_with(::write(p.w.get(), "x", 1)), EAGAIN);
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
  EXPECT_EQ(failed_with(::read(p.r.get(), &c, 1)), EINTR);
}

// lseek(2): ESPIPE on a pipe.
TEST(Pipe, LseekFailsEspipe) {
  CONFORM_MAN("lseek(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::lseek(p.r.get(), 0, SEEK_SET)), ESPIPE);
}

// pipe(2): pipefd[0] is the read end only: writing to it fails with EBADF (write(2)).
TEST(Pipe, WriteToReadEndFailsEbadf) {
  CONFORM_MAN("pipe(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::write(p.r.get(), "x", 1)), EBADF);
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
  ASSERT_GT(fill_pipe(p.w.get()), 0);
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

}  // namespace
}  // namespace ipcb::conform
