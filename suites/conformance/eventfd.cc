// Conformance of eventfd(2): the 64-bit counter (writes add, reads return and reset, or
// decrement by one in semaphore mode), would-block and overflow rules, buffer sizes, flags,
// poll readiness, and sharing of the counter across fork and exec.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <utility>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

constexpr uint64_t kMax = 0xfffffffffffffffeULL;  // the largest value the counter may hold

// An eventfd owned by the test, closed when it ends.
class EventFd {
 public:
  explicit EventFd(unsigned initval = 0, int flags = 0) : fd_(::eventfd(initval, flags)) {}
  ~EventFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  EventFd(const EventFd&) = delete;
  EventFd& operator=(const EventFd&) = delete;
  int fd() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // 0 or the errno of writing `v`.
  int add(uint64_t v) const { return ::write(fd_, &v, sizeof v) == sizeof v ? 0 : errno; }
  // The value read, or -errno.
  long long take() const {
    uint64_t v = 0;
    return ::read(fd_, &v, sizeof v) == sizeof v ? static_cast<long long>(v) : -errno;
  }

 private:
  int fd_;
};

// eventfd(2): the counter starts at initval; a read returns it and resets it to zero.
TEST(Eventfd, ReadReturnsInitialValueAndResets) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(5, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.take(), 5);
  EXPECT_EQ(e.take(), -EAGAIN);
}

// eventfd(2): each write adds its 8-byte value to the counter; a read returns the sum.
TEST(Eventfd, WritesAddToCounter) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.add(3), 0);
  ASSERT_EQ(e.add(4), 0);
  EXPECT_EQ(e.take(), 7);
}

// eventfd(2) EFD_SEMAPHORE: with counter n, each read returns 1 and decrements it by one, n
// times, then (non-blocking) EAGAIN.
TEST(Eventfd, SemaphoreModeReadsOneAndDecrements) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V07");
  EventFd e(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(e.take(), 1) << "read " << i;
  EXPECT_EQ(e.take(), -EAGAIN);
  ASSERT_EQ(e.add(2), 0);
  EXPECT_EQ(e.take(), 1);
  EXPECT_EQ(e.take(), 1);
  EXPECT_EQ(e.take(), -EAGAIN);
}

// eventfd(2): a read while the counter is zero fails EAGAIN when non-blocking; a read buffer
// smaller than 8 bytes fails EINVAL (even with a nonzero counter, which it leaves alone).
TEST(Eventfd, ReadOnZeroFailsEagainAndShortBufferEinval) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V01");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.take(), -EAGAIN);
  ASSERT_EQ(e.add(3), 0);
  char buf[7];
  EXPECT_EQ(failed_with(::read(e.fd(), buf, sizeof buf)), EINVAL);
  EXPECT_EQ(e.take(), 3);
}

// eventfd(2): a read while the counter is zero blocks until a write makes it nonzero (the writer
// is another process sharing the eventfd; it writes once it sees this thread asleep).
TEST(Eventfd, BlockingReadWaitsForWrite) {
  CONFORM_MAN("eventfd(2)");
  EventFd e;
  ASSERT_TRUE(e.ok());
  pid_t me = ::gettid();
  auto writer = std::async(std::launch::async, [&e, me] {
    return run_in_child([&e, me] { return wait_until_blocked(me, 5000) ? e.add(9) : 100; });
  });
  EXPECT_EQ(e.take(), 9);
  ChildResult r = writer.get();
  EXPECT_CHILD_OK(r) << " (100: the reader never blocked)";
}

// eventfd(2): a write that would take the counter past 0xfffffffffffffffe fails EAGAIN when
// non-blocking (here 1 onto that maximum); a write buffer smaller than 8 bytes fails EINVAL, and
// so does writing 0xffffffffffffffff; the counter keeps its value throughout.
TEST(Eventfd, OverflowingShortOrAllOnesWriteFails) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V02");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.add(kMax - 1), 0);
  EXPECT_EQ(e.add(1), 0) << "up to the maximum is allowed";
  EXPECT_EQ(e.add(1), EAGAIN);
  uint32_t small = 1;
  EXPECT_EQ(failed_with(::write(e.fd(), &small, sizeof small)), EINVAL);
  EXPECT_EQ(static_cast<uint64_t>(e.take()), kMax);
  EXPECT_EQ(e.add(~0ULL), EINVAL);
  EXPECT_EQ(e.take(), -EAGAIN) << "the all-ones write added nothing";
}

// eventfd(2): a blocking write that would overflow waits until a read makes room (the writer, a
// child, is seen asleep before the read).
TEST(Eventfd, OverflowingWriteBlocksUntilRead) {
  CONFORM_MAN("eventfd(2)");
  EventFd e;
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.add(kMax), 0);
  SharedMemory<pid_t> pid;
  ASSERT_TRUE(pid.ok());
  pid_t* slot = pid.get();
  auto writer = std::async(std::launch::async, [&e, slot] {
    return run_in_child([&e, slot] {
      __atomic_store_n(slot, ::getpid(), __ATOMIC_SEQ_CST);
      return e.add(1);
    });
  });
  pid_t p = 0;
  for (int i = 0; i < 5000 && (p = __atomic_load_n(slot, __ATOMIC_SEQ_CST)) == 0; ++i) {
    ::usleep(1000);
  }
  EXPECT_TRUE(p != 0 && wait_until_blocked(p, 5000)) << "the overflowing write did not block";
  EXPECT_EQ(writer.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(static_cast<uint64_t>(e.take()), kMax);
  ChildResult r = writer.get();
  EXPECT_CHILD_OK(r);
  EXPECT_EQ(e.take(), 1);
}

// eventfd(2): an unsupported flag fails with EINVAL.
TEST(Eventfd, UnsupportedFlagFailsEinval) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, 0x4000000);
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(errno, EINVAL);
}

// eventfd(2): poll reports POLLIN only while the counter is above zero, and POLLOUT while a
// value of at least 1 can be written without blocking.
TEST(Eventfd, PollReadinessFollowsCounter) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(poll_one(e.fd(), POLLIN | POLLOUT), POLLOUT);
  ASSERT_EQ(e.add(kMax), 0);
  EXPECT_EQ(poll_one(e.fd(), POLLIN | POLLOUT), POLLIN);
}

// Which of readable / writable select(2) reports for `fd` right now.
std::pair<bool, bool> selected(int fd) {
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(fd, &r);
  FD_SET(fd, &w);
  timeval zero{0, 0};
  if (::select(fd + 1, &r, &w, nullptr, &zero) < 0) return {false, false};
  return {FD_ISSET(fd, &r) != 0, FD_ISSET(fd, &w) != 0};
}

// eventfd(2): select reports the descriptor readable while the counter is above zero, and
// writable unless it is at its maximum (0xfffffffffffffffe).
TEST(Eventfd, SelectReadinessFollowsCounter) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V03");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(selected(e.fd()), std::make_pair(false, true)) << "counter 0";
  ASSERT_EQ(e.add(1), 0);
  EXPECT_EQ(selected(e.fd()), std::make_pair(true, true)) << "counter 1";
  ASSERT_EQ(e.add(kMax - 2), 0);
  EXPECT_EQ(selected(e.fd()), std::make_pair(true, true)) << "counter max-1";
  ASSERT_EQ(e.add(1), 0);
  EXPECT_EQ(selected(e.fd()), std::make_pair(true, false)) << "counter at the maximum";
  EXPECT_EQ(static_cast<uint64_t>(e.take()), kMax);
  EXPECT_EQ(selected(e.fd()), std::make_pair(false, true)) << "read back to 0";
}

// eventfd(2): EFD_CLOEXEC sets close-on-exec on the new descriptor and EFD_NONBLOCK sets
// O_NONBLOCK on its open file description; without them both are clear.
TEST(Eventfd, CloexecAndNonblockFlagsSetFdFlags) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V06");
  EventFd plain, cloexec(0, EFD_CLOEXEC), nonblock(0, EFD_NONBLOCK);
  ASSERT_TRUE(plain.ok() && cloexec.ok() && nonblock.ok());
  EXPECT_EQ(::fcntl(plain.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(plain.fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(cloexec.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(cloexec.fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(nonblock.fd(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(::fcntl(nonblock.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(nonblock.take(), -EAGAIN) << "a read does not block";
}

// eventfd(2): a child made by fork inherits the descriptor and shares the same counter: its
// write is what the parent reads.
TEST(Eventfd, ForkedChildSharesCounter) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V04");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  ChildResult r = run_in_child([&e] { return e.add(5); });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_EQ(e.take(), 5);
}

// eventfd(2): without close-on-exec the descriptor survives execve and still refers to the
// same counter (the exec'd shell writes 8 bytes holding 1).
TEST(Eventfd, DescriptorSurvivesExecAndSharesCounter) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  if (::access("/bin/sh", X_OK) != 0) CONFORM_SKIP("no /bin/sh to exec");
  uint64_t one = 1;
  unsigned char b[8];
  std::memcpy(b, &one, sizeof b);  // the counter's value in this host's byte order
  char script[128];
  std::snprintf(script, sizeof script, "printf '\\%o\\%o\\%o\\%o\\%o\\%o\\%o\\%o' >&%d", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], e.fd());
  ChildResult r = run_in_child([script] {
    ::execl("/bin/sh", "sh", "-c", script, static_cast<char*>(nullptr));
    return 127;
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_EQ(e.take(), 1);
}

}  // namespace
}  // namespace ipcb::conform
