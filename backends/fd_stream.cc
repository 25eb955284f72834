// Byte-stream kernel channels (see fd_stream.h).
#include "backends/fd_stream.h"

#include <poll.h>

#include "harness/sys/sys_kernel.h"

namespace ipcb {

FdStreamChannel::FdStreamChannel(const ChannelConfig& c, KernelSync sync, const char* backend)
    : message_bytes_(c.message_bytes), wait_(sync, c.abort), what_(backend) {}

Status FdStreamChannel::attach_rx(int fd) {
  IPCB_TRY_STATUS(sys::set_nonblocking(fd, wait_.nonblocking(), what_));
  rx_ = fd;
  return ok_status();
}

Status FdStreamChannel::attach_tx(int fd, bool socket) {
  IPCB_TRY_STATUS(sys::set_nonblocking(fd, wait_.nonblocking(), what_));
  tx_ = fd;
  socket_ = socket;
  return ok_status();
}

Status FdStreamChannel::open_rx() {
  return plain_error(what_, "no receiving descriptor");
}

Status FdStreamChannel::open_tx() {
  return plain_error(what_, "no sending descriptor");
}

Status FdStreamChannel::send(const FrameHeader& h, std::span<const std::byte> payload) {
  if (tx_ < 0) IPCB_TRY_STATUS(open_tx());
  auto head = std::as_bytes(std::span(&h, 1));
  const size_t total = head.size() + payload.size();
  size_t done = 0;
  while (done < total) {
    // A partial write can end inside either part.
    auto a = done < head.size() ? head.subspan(done) : std::span<const std::byte>();
    auto b = done < head.size() ? payload : payload.subspan(done - head.size());
    IPCB_TRY(size_t n, wait_.until_done([&] { return sys::write_some(tx_, a, b, socket_, what_); },
                                        tx_, POLLOUT, "send"));
    done += n;
  }
  return ok_status();
}

Result<size_t> FdStreamChannel::recv(std::span<std::byte> buf) {
  if (buf.size() < message_bytes_) return plain_error("recv", "buffer smaller than a message");
  if (rx_ < 0) IPCB_TRY_STATUS(open_rx());
  size_t done = 0;
  while (done < message_bytes_) {
    auto rest = buf.subspan(done, message_bytes_ - done);
    IPCB_TRY(size_t n, wait_.until_done([&] { return sys::read_some(rx_, rest, what_); }, rx_,
                                        POLLIN, "recv"));
    if (n == 0) {
      return Error{"read", what_, 0,
                   "end of file after " + std::to_string(done) + " of " +
                       std::to_string(message_bytes_) + " bytes (the peer closed its end)"};
    }
    done += n;
  }
  return message_bytes_;
}

}  // namespace ipcb
