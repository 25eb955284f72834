// Conformance of FIFOs: fifo(7), mkfifo(3), open(2) of either end with and without a peer,
// signals during a blocking open, a full FIFO, end of file, and data passing without file
// contents, also once unlinked.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

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
  EXPECT_EQ(failed_with(::mkfifo(dir.file("missing/fifo").c_str(), 0600)), ENOENT);
}

// fifo(7): O_RDONLY|O_NONBLOCK opens succeed even when no one has the write side open.
TEST(Fifo, NonblockingReadOpenSucceedsWithoutWriter) {
  CONFORM_MAN("fifo(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  EXPECT_GE(r.get(), 0) << strerror(errno);
}

// fifo(7): O_WRONLY|O_NONBLOCK fails with ENXIO unless the other end has been opened; once a
// reader has the FIFO open, the same open succeeds.
TEST(Fifo, NonblockingWriteOpenFailsEnxioWithoutReader) {
  CONFORM_MAN("fifo(7)");
  CONFORM_ROWS("I22");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  EXPECT_EQ(w.get() < 0 ? errno : 0, ENXIO);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  ASSERT_GE(r.get(), 0);
  w.reset(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  EXPECT_GE(w.get(), 0) << strerror(errno);
}

// fifo(7), pipe(7): a non-blocking write to a full FIFO fails with EAGAIN.
TEST(Fifo, NonblockingWriteToFullFifoFailsEagain) {
  CONFORM_MAN("fifo(7)");
  CONFORM_ROWS("I24");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  ASSERT_TRUE(r.get() >= 0 && w.get() >= 0) << strerror(errno);
  ASSERT_EQ(fill_pipe(w.get()), ::fcntl(w.get(), F_GETPIPE_SZ)) << "not filled to capacity";
  EXPECT_EQ(failed_with(::write(w.get(), "x", 1)), EAGAIN);
}

// fifo(7): a blocking open of the end `child_flags` (in a child) sleeps until the test opens the
// other end with `peer_flags`; then it returns.
void expect_open_waits_for_peer(const std::string& path, int child_flags, int peer_flags) {
  AsyncChild child([&](const AsyncChild::Ready& ready) {
    ready();
    return ::open(path.c_str(), child_flags) >= 0 ? 0 : 1;
  });
  ASSERT_TRUE(child.wait_blocked()) << "open(" << child_flags << ") did not wait for a peer";
  Fd peer(::open(path.c_str(), peer_flags));
  EXPECT_GE(peer.get(), 0) << strerror(errno);
  ChildResult r = child.wait();
  EXPECT_CHILD_OK(r) << " (open did not return once the peer opened)";
}

// fifo(7): opening for reading blocks until another process opens the FIFO for writing, and
// opening for writing blocks until one opens it for reading; under Linux, an O_RDWR open never
// blocks (POSIX leaves it undefined), blocking or not; and once the last writer has closed, a read
// returns what is left, then 0 (end of file).
TEST(Fifo, OpenRendezvousReadWriteOpenAndEof) {
  CONFORM_MAN("fifo(7)");
  CONFORM_ROWS("U12");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  expect_open_waits_for_peer(f.path, O_RDONLY, O_WRONLY | O_NONBLOCK);
  expect_open_waits_for_peer(f.path, O_WRONLY, O_RDONLY | O_NONBLOCK);
  std::string path = f.path;
  auto rdwr = run_in_child(
      [&path] {
        Fd blocking(::open(path.c_str(), O_RDWR));
        Fd nonblocking(::open(path.c_str(), O_RDWR | O_NONBLOCK));
        return blocking.get() >= 0 && nonblocking.get() >= 0 ? 0 : 1;
      },
      2000);
  EXPECT_CHILD_OK(rdwr) << " (O_RDWR open without a peer failed or blocked)";
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  Fd w(::open(f.path.c_str(), O_WRONLY));
  ASSERT_TRUE(r.get() >= 0 && w.get() >= 0) << strerror(errno);
  ASSERT_EQ(::fcntl(r.get(), F_SETFL, 0), 0);  // blocking reads from here on
  ASSERT_EQ(::write(w.get(), "left", 4), 4);
  w.reset();
  char buf[8];
  EXPECT_EQ(::read(r.get(), buf, sizeof buf), 4);
  EXPECT_EQ(::read(r.get(), buf, sizeof buf), 0) << "no end of file without writers";
}

// signal(7): open(2) of a FIFO that blocks is interrupted by a handler (without SA_RESTART):
// EINTR. The opener is a child, signalled once it sleeps in open(2).
TEST(Fifo, BlockingOpenInterruptedBySignalFailsEintr) {
  CONFORM_MAN("signal(7)");
  FifoPath f;
  ASSERT_TRUE(f.ok);
  AsyncChild opener([&f](const AsyncChild::Ready& ready) {
    InterruptingSignal sig(SIGUSR1);
    ready();
    return failed_with(::open(f.path.c_str(), O_RDONLY));
  });
  ASSERT_TRUE(opener.wait_blocked()) << "the open did not block";
  ASSERT_EQ(::kill(opener.pid(), SIGUSR1), 0);
  ChildResult r = opener.wait();
  EXPECT_EQ(r.code, EINTR) << r.describe();
}

// Data written to a FIFO open at both ends (O_NONBLOCK) is read back whole:
//   - fifo(7): the kernel passes it internally; the FIFO file has no contents (size 0);
//   - unlink(2): a removed FIFO stays in existence while it is open: data still passes.
struct PassCase {
  CaseInfo info;
  bool unlink;  // remove the FIFO before writing
  const char* data;
  bool check_size;  // stat(2) shows size 0 after the write
};
void data_passes(const PassCase& c) {
  FifoPath f;
  ASSERT_TRUE(f.ok);
  Fd r(::open(f.path.c_str(), O_RDONLY | O_NONBLOCK));
  Fd w(::open(f.path.c_str(), O_WRONLY | O_NONBLOCK));
  ASSERT_TRUE(r.get() >= 0 && w.get() >= 0);
  if (c.unlink) {
    ASSERT_EQ(::unlink(f.path.c_str()), 0);
  }
  const auto n = static_cast<ssize_t>(std::strlen(c.data));
  ASSERT_EQ(::write(w.get(), c.data, n), n);
  if (c.check_size) {
    struct stat st {};
    ASSERT_EQ(::stat(f.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 0);
  }
  char buf[8];
  EXPECT_EQ(::read(r.get(), buf, sizeof buf), n);
}
const PassCase kPass[] = {
    {{"DataPassesWithoutFileContents", "fifo(7)"}, false, "hello", true},
    {{"UnlinkedFifoKeepsPassingDataWhileOpen", "unlink(2)"}, true, "abc", false},
};
CONFORM_CASES("Fifo", kPass, data_passes);

}  // namespace
}  // namespace ipcb::conform
