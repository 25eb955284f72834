// Conformance of eventfd(2): the 64-bit counter (writes add, reads return and reset, or
// decrement by one in semaphore mode), would-block and overflow rules, buffer sizes, flags,
// poll readiness, and sharing of the counter across fork and exec.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>

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

// eventfd(2) EFD_SEMAPHORE: a read returns 1 and decrements the counter by one.
TEST(Eventfd, SemaphoreModeReadsOneAndDecrements) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(2, EFD_SEMAPHORE | EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.take(), 1);
  EXPECT_EQ(e.take(), 1);
  EXPECT_EQ(e.take(), -EAGAIN);
}

// eventfd(2): a read while the counter is zero fails with EAGAIN when non-blocking.
TEST(Eventfd, NonblockingReadOnZeroFailsEagain) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.take(), -EAGAIN);
}

// eventfd(2): a read while the counter is zero blocks until a write makes it nonzero (here
// the writer is another process sharing the eventfd).
TEST(Eventfd, BlockingReadWaitsForWrite) {
  CONFORM_MAN("eventfd(2)");
  EventFd e;
  ASSERT_TRUE(e.ok());
  auto writer = std::async(std::launch::async, [&e] {
    return run_in_child([&e] {
      timespec t{0, 20 * 1000000L};
      ::nanosleep(&t, nullptr);
      return e.add(9);
    });
  });
  EXPECT_EQ(e.take(), 9);
  ChildResult r = writer.get();
  EXPECT_CHILD_OK(r);
}

// eventfd(2): writing 0xffffffffffffffff fails with EINVAL.
TEST(Eventfd, WriteOfAllOnesFailsEinval) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e.add(~0ULL), EINVAL);
}

// eventfd(2): a write that would overflow the counter past 0xfffffffffffffffe fails with
// EAGAIN when non-blocking; the counter keeps its value.
TEST(Eventfd, OverflowingWriteFailsEagainNonblocking) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.add(kMax), 0);
  EXPECT_EQ(e.add(1), EAGAIN);
  EXPECT_EQ(static_cast<uint64_t>(e.take()), kMax);
}

// eventfd(2): a blocking write that would overflow waits until a read makes room.
TEST(Eventfd, OverflowingWriteBlocksUntilRead) {
  CONFORM_MAN("eventfd(2)");
  EventFd e;
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e.add(kMax), 0);
  auto writer =
      std::async(std::launch::async, [&e] { return run_in_child([&e] { return e.add(1); }); });
  EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(30)), std::future_status::timeout)
      << "an overflowing write did not block";
  EXPECT_EQ(static_cast<uint64_t>(e.take()), kMax);
  ChildResult r = writer.get();
  EXPECT_CHILD_OK(r);
  EXPECT_EQ(e.take(), 1);
}

// eventfd(2): a read buffer smaller than 8 bytes fails with EINVAL.
TEST(Eventfd, ReadBufferSmallerThanEightBytesFailsEinval) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(1, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  char buf[4];
  EXPECT_EQ(failed_with(::read(e.fd(), buf, sizeof buf)), EINVAL);
}

// eventfd(2): a write buffer smaller than 8 bytes fails with EINVAL.
TEST(Eventfd, WriteBufferSmallerThanEightBytesFailsEinval) {
  CONFORM_MAN("eventfd(2)");
  EventFd e(0, EFD_NONBLOCK);
  ASSERT_TRUE(e.ok());
  uint32_t small = 1;
  EXPECT_EQ(failed_with(::write(e.fd(), &small, sizeof small)), EINVAL);
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

// eventfd(2): POLLERR when the counter overflowed. Only the kernel's own eventfd_signal (e.g.
// AIO completions) can overflow it; user-space writes block or fail first.
TEST(Eventfd, OverflowReportedAsPollerr) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_SKIP("an overflow can only come from in-kernel eventfd_signal(), not from user space");
}

// eventfd(2): EFD_CLOEXEC sets close-on-exec on the new descriptor; without it, it is clear.
TEST(Eventfd, CloexecFlagSetsCloseOnExec) {
  CONFORM_MAN("eventfd(2)");
  EventFd plain, cloexec(0, EFD_CLOEXEC);
  ASSERT_TRUE(plain.ok() && cloexec.ok());
  EXPECT_EQ(::fcntl(plain.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(cloexec.fd(), F_GETFD) & FD_CLOEXEC, 0);
}

// eventfd(2): a child made by fork inherits the descriptor and shares the same counter.
TEST(Eventfd, ForkedChildSharesCounter) {
  CONFORM_MAN("eventfd(2)");
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
