// Conformance of FIFOs: fifo(7), mkfifo(3), open(2) of either end with and without a peer,
// signals during a blocking open, and data passing without file contents, also once unlinked.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

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
  EXPECT_CHILD_OK(r);
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
