// Conformance of eventfd(2) when the kernel itself signals it: an AIO completion
// (io_submit(2) with IOCB_FLAG_RESFD) adds 1 to the counter, which can overflow it past what
// user space may write. Raw system calls: no libaio needed.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// An AIO context (io_setup(2)), destroyed when the scope ends.
class AioContext {
 public:
  AioContext() : rc_(::syscall(SYS_io_setup, 1, &ctx_)), err_(rc_ == 0 ? 0 : errno) {}
  ~AioContext() {
    if (rc_ == 0) ::syscall(SYS_io_destroy, ctx_);
  }
  AioContext(const AioContext&) = delete;
  AioContext& operator=(const AioContext&) = delete;
  int error() const { return err_; }
  // Reads `len` bytes of `fd` into `buf` asynchronously and waits (up to 5 s) for the
  // completion, which signals eventfd `efd`; the completion's result, or -errno.
  long read_signalling(int fd, void* buf, size_t len, int efd) {
    iocb cb{};
    cb.aio_lio_opcode = IOCB_CMD_PREAD;
    cb.aio_fildes = static_cast<uint32_t>(fd);
    cb.aio_buf = reinterpret_cast<uintptr_t>(buf);
    cb.aio_nbytes = len;
    cb.aio_flags = IOCB_FLAG_RESFD;
    cb.aio_resfd = static_cast<uint32_t>(efd);
    iocb* list[1] = {&cb};
    if (::syscall(SYS_io_submit, ctx_, 1, list) != 1) return -errno;
    io_event ev{};
    timespec limit{5, 0};
    if (::syscall(SYS_io_getevents, ctx_, 1, 1, &ev, &limit) != 1) return -ETIMEDOUT;
    return static_cast<long>(ev.res);
  }

 private:
  aio_context_t ctx_ = 0;
  long rc_;
  int err_;
};

// eventfd(2): with the counter at its maximum (0xfffffffffffffffe), an AIO completion's signal
// overflows it: poll reports POLLERR (and POLLIN, not POLLOUT), select reports the descriptor
// both readable and writable, and a read returns 0xffffffffffffffff and resets the counter.
TEST(Eventfd, KernelSignalOverflowReportedAsPollerr) {
  CONFORM_MAN("eventfd(2)");
  CONFORM_ROWS("V05");
  AioContext aio;
  if (aio.error() == ENOSYS)
    CONFORM_SKIP("no AIO in this kernel (CONFIG_AIO off): io_setup ENOSYS");
  if (aio.error() == EAGAIN) {
    CONFORM_SKIP("fs.aio-max-nr is exhausted (io_setup EAGAIN): raise fs.aio-max-nr");
  }
  ASSERT_EQ(aio.error(), 0) << std::strerror(aio.error());
  Fd efd(::eventfd(0, EFD_NONBLOCK));
  ASSERT_GE(efd.get(), 0);
  uint64_t max = 0xfffffffffffffffeULL;
  ASSERT_EQ(::write(efd.get(), &max, sizeof max), 8);
  TempDir dir;
  Fd file(::open(dir.file("data").c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_GE(file.get(), 0);
  ASSERT_EQ(::write(file.get(), "abcd", 4), 4);
  char buf[4] = {};
  ASSERT_EQ(aio.read_signalling(file.get(), buf, sizeof buf, efd.get()), 4);
  EXPECT_EQ(std::memcmp(buf, "abcd", 4), 0);
  EXPECT_EQ(poll_one(efd.get(), POLLIN | POLLOUT), POLLIN | POLLERR);
  fd_set r, w;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(efd.get(), &r);
  FD_SET(efd.get(), &w);
  timeval zero{0, 0};
  EXPECT_EQ(::select(efd.get() + 1, &r, &w, nullptr, &zero), 2);
  EXPECT_TRUE(FD_ISSET(efd.get(), &r)) << "readable";
  EXPECT_TRUE(FD_ISSET(efd.get(), &w)) << "writable";
  uint64_t got = 0;
  ASSERT_EQ(::read(efd.get(), &got, sizeof got), 8);
  EXPECT_EQ(got, UINT64_MAX);
  EXPECT_EQ(poll_one(efd.get(), POLLIN | POLLOUT), POLLOUT) << "the read reset the counter";
}

}  // namespace
}  // namespace ipcb::conform
