// Conformance of pipes shared by processes (pipe(2), pipe(7)): SIGPIPE caught, blocked writers
// killed, bad arguments and the descriptor limit, several writers or readers, data written before
// fork, every blocked reader woken by the last close, and O_CLOEXEC across execve(2).
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

volatile sig_atomic_t g_sigpipes = 0;
void count_sigpipe(int) {
  g_sigpipes = g_sigpipes + 1;
}

// pipe(7): with a handler for SIGPIPE, a write to a pipe whose read ends are all closed fails
// with EPIPE, and exactly one SIGPIPE is delivered (to the writer, which survives).
TEST(Pipe, WriteWithNoReadersCaughtSigpipeAndEpipe) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I03");
  auto r = run_in_child([] {
    struct sigaction sa {};
    sa.sa_handler = count_sigpipe;
    if (::sigaction(SIGPIPE, &sa, nullptr) != 0) return kSetupFailed;
    int fds[2];
    if (::pipe(fds) != 0) return kSetupFailed;
    ::close(fds[0]);
    if (failed_with(::write(fds[1], "x", 1)) != EPIPE) return 1;
    return g_sigpipes == 1 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r) << " (1: no EPIPE, 2: not exactly one SIGPIPE)";
}

// pipe(7), signal(7): writers blocked on a full pipe are terminated by SIGKILL (the blocking
// write does not hold them).
TEST(Pipe, WritersBlockedOnFullPipeDieOfSigkill) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I05");
  PipeFds p(O_NONBLOCK);
  ASSERT_TRUE(p.ok);
  ASSERT_GT(fill_pipe(p.w.get()), 0);
  ASSERT_EQ(::fcntl(p.w.get(), F_SETFL, 0), 0);  // the writers' writes block
  std::vector<std::unique_ptr<AsyncChild>> writers;
  for (int i = 0; i < 2; ++i) {
    writers.push_back(std::make_unique<AsyncChild>([&p](const AsyncChild::Ready& ready) {
      ready();
      return ::write(p.w.get(), "x", 1) == 1 ? 1 : 2;  // must not return at all
    }));
  }
  for (auto& w : writers) ASSERT_TRUE(w->wait_blocked()) << "a write did not block";
  for (auto& w : writers) ASSERT_EQ(::kill(w->pid(), SIGKILL), 0);
  for (auto& w : writers) {
    ChildResult r = w->wait();
    EXPECT_EQ(r.signal, SIGKILL) << r.describe();
  }
}

// pipe(2): EFAULT if pipefd is not valid memory; no descriptor is left open. The raw syscall must
// fail; glibc's pipe() passes the pointer through (a libc that touched it would die of SIGSEGV).
TEST(Pipe, PipeIntoInvalidMemoryFailsEfault) {
  CONFORM_MAN("pipe(2)");
  CONFORM_ROWS("I06");
  InaccessiblePage bad;
  ASSERT_NE(bad.get(), nullptr);
  int lowest = lowest_free_fd();
  EXPECT_EQ(failed_with(::syscall(SYS_pipe2, bad.get(), 0)), EFAULT);
  EXPECT_EQ(lowest_free_fd(), lowest) << "the failed pipe2 left a descriptor open";
  void* p = bad.get();
  auto r = run_in_child([p] { return failed_with(::pipe(static_cast<int*>(p))); });
  EXPECT_TRUE(r.code == EFAULT || r.signal == SIGSEGV) << r.describe();
  EXPECT_EQ(lowest_free_fd(), lowest);
}

// pipe(2): EMFILE once the per-process descriptor limit is reached. With 5 descriptors free
// (RLIMIT_NOFILE, in a child whose descriptors above 2 are closed) exactly 2 pipes are made;
// the third fails without leaving its one possible descriptor taken.
TEST(Pipe, PipeAtDescriptorLimitFailsEmfile) {
  CONFORM_MAN("pipe(2)");
  CONFORM_ROWS("I07");
  auto r = run_in_child([] {
    if (::close_range(3, ~0U, 0) != 0 || lowest_free_fd() != 3) return kSetupFailed;
    if (!set_nofile_limit(3 + 5)) return child_fail(kSetupFailed, "setrlimit");
    int fds[2], made = 0;
    while (::pipe(fds) == 0) ++made;
    if (errno != EMFILE) return 1;
    if (made != 2) return 10 + made;
    return lowest_free_fd() == 7 ? 0 : 2;
  });
  EXPECT_CHILD_OK(r) << " (1: not EMFILE; 1x: x pipes made; 2: a descriptor leaked)";
}

// pipe(7): bytes written by two processes into one pipe all arrive: 50 one-byte records from each.
TEST(Pipe, TwoWritersAllBytesArrive) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I08");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  std::vector<std::unique_ptr<AsyncChild>> writers;
  for (char c : {'a', 'b'}) {
    writers.push_back(std::make_unique<AsyncChild>([&p, c](const AsyncChild::Ready&) {
      p.r.reset();
      for (int i = 0; i < 50; ++i) {
        if (::write(p.w.get(), &c, 1) != 1) return 1;
      }
      return 0;
    }));
  }
  p.w.reset();  // EOF once both writers are done
  std::string got;
  char buf[256];
  for (long n; (n = ::read(p.r.get(), buf, sizeof buf)) > 0;) got.append(buf, n);
  for (auto& w : writers) {
    ChildResult r = w->wait();
    EXPECT_CHILD_OK(r);
  }
  EXPECT_EQ(got.size(), 100u);
  EXPECT_EQ(std::count(got.begin(), got.end(), 'a'), 50);
  EXPECT_EQ(std::count(got.begin(), got.end(), 'b'), 50);
}

// fork(2), pipe(7): data written into a pipe before fork is read whole by the child.
TEST(Pipe, ChildReadsDataWrittenBeforeFork) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I09");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  std::string sent(1000, '\0');
  for (size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('0' + i % 43);
  ASSERT_EQ(::write(p.w.get(), sent.data(), sent.size()), 1000);
  p.w.reset();  // the data stays in the pipe; the child then reads to end of file
  auto r = run_in_child([&p, &sent] {
    std::string got;
    char buf[300];
    for (long n; (n = ::read(p.r.get(), buf, sizeof buf)) > 0;) got.append(buf, n);
    return got == sent ? 0 : 1;
  });
  p.r.reset();
  EXPECT_CHILD_OK(r);
}

// pipe(7), read(2): one write of PIPE_BUF bytes read by 4 processes, PIPE_BUF/4 bytes each: each
// reader gets a contiguous, correct chunk, and together they get all of it.
TEST(Pipe, ReadersShareOneWriteInContiguousChunks) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I10");
  constexpr int kReaders = 4;
  constexpr size_t kChunk = PIPE_BUF / kReaders;
  struct Chunks {
    char data[kReaders][kChunk];
  };
  SharedMemory<Chunks> chunks;
  PipeFds p;
  ASSERT_TRUE(p.ok && chunks.ok());
  std::string sent(PIPE_BUF, '\0');
  for (size_t i = 0; i < sent.size(); ++i)
    sent[i] = static_cast<char>(i * 7 % 251);  // chunks differ
  ASSERT_EQ(::write(p.w.get(), sent.data(), sent.size()), PIPE_BUF);
  std::vector<std::unique_ptr<AsyncChild>> readers;
  for (int k = 0; k < kReaders; ++k) {
    readers.push_back(std::make_unique<AsyncChild>([&, k](const AsyncChild::Ready&) {
      return ::read(p.r.get(), chunks->data[k], kChunk) == static_cast<long>(kChunk) ? 0 : 1;
    }));
  }
  for (auto& reader : readers) {
    ChildResult r = reader->wait();
    EXPECT_CHILD_OK(r);
  }
  std::set<size_t> offsets;
  for (int k = 0; k < kReaders; ++k) {
    std::string got(chunks->data[k], kChunk);
    size_t at = 0;
    while (at < sent.size() && sent.compare(at, kChunk, got) != 0) at += kChunk;
    EXPECT_LT(at, sent.size()) << "reader " << k << " got no contiguous chunk of the write";
    offsets.insert(at);
  }
  EXPECT_EQ(offsets.size(), static_cast<size_t>(kReaders)) << "two readers got the same chunk";
}

// pipe(7): when the last write end is closed, every reader blocked on the empty pipe wakes and
// read(2) returns 0 (end of file); none is left asleep.
TEST(Pipe, LastWriterCloseWakesEveryBlockedReader) {
  CONFORM_MAN("pipe(7)");
  CONFORM_ROWS("I13");
  PipeFds p;
  ASSERT_TRUE(p.ok);
  std::vector<std::unique_ptr<AsyncChild>> readers;
  for (int k = 0; k < 4; ++k) {
    readers.push_back(std::make_unique<AsyncChild>([&p](const AsyncChild::Ready& ready) {
      p.w.reset();  // the parent holds the only write end
      char c;
      ready();
      long n = ::read(p.r.get(), &c, 1);
      return n == 0 ? 0 : 1;
    }));
  }
  for (auto& r : readers) ASSERT_TRUE(r->wait_blocked()) << "a read did not block";
  p.w.reset();
  for (auto& reader : readers) {
    ChildResult r = reader->wait();
    EXPECT_CHILD_OK(r) << " (1: read did not return 0)";
  }
}

// pipe2(2), execve(2): descriptors made with O_CLOEXEC are closed in the new program (using them
// there fails, EBADF), those of a plain pipe() stay open. The new program is /bin/sh.
TEST(Pipe, CloexecDescriptorsClosedAcrossExec) {
  CONFORM_MAN("pipe(2)");
  CONFORM_ROWS("I17");
  if (::access("/bin/sh", X_OK) != 0) CONFORM_SKIP("no /bin/sh to exec");
  auto r = run_in_child([] {
    int ce[2], plain[2];
    if (::pipe2(ce, O_CLOEXEC) != 0 || ::pipe(plain) != 0) return kSetupFailed;
    // `true <&N` / `true >&N` fail (EBADF, dup2 in the shell) if N is not open.
    std::string script = "exec 2>/dev/null; true <&" + std::to_string(ce[0]) +
                         " && exit 1; true >&" + std::to_string(ce[1]) + " && exit 2; true <&" +
                         std::to_string(plain[0]) + " || exit 3; true >&" +
                         std::to_string(plain[1]) + " || exit 4; exit 0";
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    return child_fail(kSetupFailed, "execl");
  });
  EXPECT_CHILD_OK(r) << " (1, 2: an O_CLOEXEC end survived exec; 3, 4: a plain end was closed)";
}

}  // namespace
}  // namespace ipcb::conform
