// Conformance of pipes: pipe(7), pipe(2), the pipe capacity operations of fcntl(2) and their
// readiness in poll(2)/select(2). Capacity and its limits are in pipe_capacity.cc, processes
// sharing a pipe in pipe_io.cc, atomicity in pipe_atomic.cc, FIFOs in fifo.cc; exclusive create,
// open without create, persistence, permissions and removal of FIFOs are the shared behaviours
// (shared.cc).
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

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// Ignores `sig` for the scope (a write to a pipe without readers then fails with EPIPE).
class ScopedIgnore : NoCopy {
 public:
  explicit ScopedIgnore(int sig) : sig_(sig) { old_ = ::signal(sig, SIG_IGN); }
  ~ScopedIgnore() { ::signal(sig_, old_); }

 private:
  int sig_;
  sighandler_t old_;
};

// --- atomicity and partial transfers -------------------------------------------------------

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

// The bytes ioctl(FIONREAD) reports unread in the pipe whose read end is `r`, or -1.
int unread(int r) {
  int n = -1;
  return ::ioctl(r, FIONREAD, &n) == 0 ? n : -1;
}

// pipe(7): O_NONBLOCK, n > PIPE_BUF: if there is room, from 1 to n bytes may be written (a
// partial write: fewer than n, all of them stored, as FIONREAD shows), into an empty pipe and a
// partly full one; if there is no room, EAGAIN.
TEST(Pipe, NonblockingWriteAbovePipeBufMayBePartial) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I12");
  for (long already : {0L, 100L}) {
    PipeFds p(O_NONBLOCK);
    ASSERT_TRUE(p.ok);
    long cap = ::fcntl(p.w.get(), F_GETPIPE_SZ);
    std::vector<char> buf(cap + PIPE_BUF, 'x');
    ASSERT_EQ(::write(p.w.get(), buf.data(), already), already);
    long n = ::write(p.w.get(), buf.data(), buf.size());
    EXPECT_GT(n, 0) << already << " bytes already in the pipe";
    EXPECT_LT(n, static_cast<long>(buf.size())) << already << " bytes already in the pipe";
    EXPECT_EQ(unread(p.r.get()), already + n) << already << " bytes already in the pipe";
    EXPECT_EQ(failed_with(::write(p.w.get(), buf.data(), buf.size())), EAGAIN);
  }
}

// pipe(2), read(2): what is written to the write end is read, byte for byte, from the read end;
// fewer bytes than requested is not an error: a pipe returns what it holds at once.
TEST(Pipe, ReadReturnsAvailableBytesWithoutWaitingForMore) {
  CONFORM_MAN("read(2)");
  CONFORM_ROWS("I01");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  const std::string sent = "abcdefghijklmnopqrstuvwxyz!";  // 27 bytes
  ASSERT_EQ(::write(p.w.get(), sent.data(), sent.size()), 27);
  char buf[100];
  ASSERT_EQ(::read(p.r.get(), buf, sizeof buf), 27);
  EXPECT_EQ(std::string(buf, 27), sent);
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
  CONFORM_ROWS("I14");
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
  CONFORM_ROWS("I02");
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
  CONFORM_ROWS("I11");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  ASSERT_GT(fill_pipe(p.w.get()), 0);
  EXPECT_EQ(failed_with(::write(p.w.get(), "x", 1)), EAGAIN);
}

// signal(7): a blocking read on a pipe interrupted by a handler without SA_RESTART fails with
// EINTR. The reader is a child, signalled once it sleeps in read(2).
TEST(Pipe, BlockingReadInterruptedBySignalFailsEintr) {
  CONFORM_MAN("signal(7)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  AsyncChild reader([&p](const AsyncChild::Ready& ready) {
    InterruptingSignal sig(SIGUSR1);
    char c;
    ready();
    return failed_with(::read(p.r.get(), &c, 1));
  });
  ASSERT_TRUE(reader.wait_blocked()) << "the read did not block";
  ASSERT_EQ(::kill(reader.pid(), SIGUSR1), 0);
  ChildResult r = reader.wait();
  EXPECT_EQ(r.code, EINTR) << r.describe();
}

// lseek(2): ESPIPE on a pipe.
TEST(Pipe, LseekFailsEspipe) {
  CONFORM_MAN("lseek(2)");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::lseek(p.r.get(), 0, SEEK_SET)), ESPIPE);
}

// pipe(2): pipefd[0] is the read end only and pipefd[1] the write end only: writing to the read
// end (write(2)) and reading from the write end (read(2)) fail with EBADF.
TEST(Pipe, WrongEndFailsEbadf) {
  CONFORM_MAN("pipe(2)");
  CONFORM_ROWS("I04");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(failed_with(::write(p.r.get(), "x", 1)), EBADF);
  ASSERT_EQ(::write(p.w.get(), "y", 1), 1);  // data to read, so only the end is wrong
  char c;
  EXPECT_EQ(failed_with(::read(p.w.get(), &c, 1)), EBADF);
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

// poll(2): once one end of a pipe is closed, poll on the other reports it: POLLHUP on the read
// end once the peer closed the write end; POLLERR on the write end once the read end is closed.
struct PollAfterCloseCase {
  CaseInfo info;
  bool close_writer;  // close the write end and poll the read end (else the reverse)
  short events, want;
};
void poll_after_close(const PollAfterCloseCase& c) {
  PipeFds p;
  ASSERT_TRUE(p.ok);
  (c.close_writer ? p.w : p.r).reset();
  EXPECT_TRUE(poll_one((c.close_writer ? p.r : p.w).get(), c.events) & c.want);
}
const PollAfterCloseCase kPollAfterClose[] = {
    {{"PollReportsPollhupWhenWriterCloses", "poll(2)"}, true, POLLIN, POLLHUP},
    {{"PollReportsPollerrWhenReaderCloses", "poll(2)"}, false, POLLOUT, POLLERR},
};
CONFORM_CASES("Pipe", kPollAfterClose, poll_after_close);

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

// pipe2(2): the flags show on the new descriptors: with 0 none; O_CLOEXEC as FD_CLOEXEC
// (F_GETFD) on both; O_NONBLOCK in F_GETFL of both open file descriptions; O_DIRECT (packet mode)
// in F_GETFL of the write end, the end whose writes make packets (Linux leaves the read end).
TEST(Pipe, Pipe2FlagsVisibleOnBothEnds) {
  CONFORM_MAN("pipe(2)");
  CONFORM_ROWS("I16");
  struct Case {
    int flags;
    bool cloexec, nonblock, direct_w;
  };
  for (Case c : {Case{0, false, false, false}, Case{O_CLOEXEC, true, false, false},
                 Case{O_NONBLOCK, false, true, false}, Case{O_DIRECT, false, false, true}}) {
    PipeFds p(c.flags);
    ASSERT_TRUE(p.ok) << "pipe2(" << c.flags << "): " << strerror(p.err);
    for (int fd : {p.r.get(), p.w.get()}) {
      const char* end = fd == p.r.get() ? " read end" : " write end";
      EXPECT_EQ((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, c.cloexec) << c.flags << end;
      EXPECT_EQ((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, c.nonblock) << c.flags << end;
    }
    EXPECT_EQ((::fcntl(p.w.get(), F_GETFL) & O_DIRECT) != 0, c.direct_w) << c.flags;
    EXPECT_EQ(::fcntl(p.r.get(), F_GETFL) & O_DIRECT, 0) << c.flags;
  }
}

// pipe2(2): an invalid flag fails with EINVAL.
TEST(Pipe, Pipe2InvalidFlagsFailsEinval) {
  CONFORM_MAN("pipe(2)");
  PipeFds p(0x40000000);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.err, EINVAL);
}

// pipe2(2) O_DIRECT: each write is a packet and each read returns one packet.
void reads_one_packet_at_a_time(const PipeFds& p) {
  ASSERT_EQ(::write(p.w.get(), "abc", 3), 3);
  ASSERT_EQ(::write(p.w.get(), "de", 2), 2);
  char buf[64];
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 3);
  EXPECT_EQ(::read(p.r.get(), buf, sizeof buf), 2);
}

// pipe2(2) O_DIRECT: a read smaller than the next packet returns the bytes asked for and
// discards the rest of the packet.
void short_read_discards_rest_of_packet(const PipeFds& p) {
  ASSERT_EQ(::write(p.w.get(), "abcdef", 6), 6);
  ASSERT_EQ(::write(p.w.get(), "XY", 2), 2);
  char buf[64];
  ASSERT_EQ(::read(p.r.get(), buf, 2), 2);
  ASSERT_EQ(::read(p.r.get(), buf, sizeof buf), 2);
  EXPECT_EQ(std::string(buf, 2), "XY");
}

// pipe2(2) O_DIRECT: writes larger than PIPE_BUF are split into packets of PIPE_BUF.
void splits_writes_above_pipe_buf(const PipeFds& p) {
  std::vector<char> buf(2 * PIPE_BUF + 10, 'x');
  ASSERT_EQ(::write(p.w.get(), buf.data(), buf.size()), static_cast<long>(buf.size()));
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), PIPE_BUF);
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), PIPE_BUF);
  EXPECT_EQ(::read(p.r.get(), buf.data(), buf.size()), 10);
}

// A packet-mode pipe (pipe2 O_DIRECT, Linux 3.4) and the check made on it.
struct DirectCase {
  CaseInfo info;
  void (*check)(const PipeFds& p);
};
void direct_pipe(const DirectCase& c) {
  PipeFds p(O_DIRECT);
  if (!p.ok && p.err == EINVAL) CONFORM_SKIP("O_DIRECT pipes not supported (before Linux 3.4)");
  ASSERT_TRUE(p.ok);
  c.check(p);
}
const DirectCase kDirect[] = {
    {{"Pipe2DirectReadsOnePacketAtATime", "pipe(2)"}, reads_one_packet_at_a_time},
    {{"Pipe2DirectShortReadDiscardsRestOfPacket", "pipe(2)"}, short_read_discards_rest_of_packet},
    {{"Pipe2DirectSplitsWritesAbovePipeBuf", "pipe(2)"}, splits_writes_above_pipe_buf},
};
CONFORM_CASES("Pipe", kDirect, direct_pipe);

}  // namespace
}  // namespace ipcb::conform
