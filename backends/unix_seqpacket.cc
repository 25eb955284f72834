// unix_seqpacket backend (see unix_seqpacket.h).
#include "backends/unix_seqpacket.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "backends/kernel_channel.h"
#include "backends/unix_stream.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

// A record longer than SO_SNDBUF - 32 is EMSGSIZE (unix_dgram_sendmsg), and the kernel doubles
// the SO_SNDBUF asked for, which setsockopt caps at net.core.wmem_max for every user (root
// included: only SO_SNDBUFFORCE goes beyond).
constexpr size_t kSndbufSlack = 32;
// Beyond that, a record is one sk_buff: a linear part of at most one kmalloc (PAGE_SIZE <<
// MAX_PAGE_ORDER = 4 MiB, minus 320 bytes of skb_shared_info) plus MAX_SKB_FRAGS (17) pages.
// Measured on Linux 6.18 x86_64 with SO_SNDBUF = wmem_max = 4 MiB (8 MiB effective), as root
// and as uid 65534: 4263616 bytes go through, 4263617 fail with ENOBUFS; this formula gives
// exactly that.
constexpr size_t kMaxOrder = 10;
constexpr size_t kSharedInfo = 320;
constexpr size_t kMaxFrags = 17;

size_t largest_record() {
  size_t page = sys::page_size();
  return (page << kMaxOrder) - kSharedInfo + kMaxFrags * page;
}

// The SO_SNDBUF to ask for: room for a few records in flight, never less than the default.
int sndbuf_for(size_t message_bytes, uint64_t wmem_max) {
  uint64_t want = std::max<uint64_t>(2 * message_bytes + 4096, 212992);
  return static_cast<int>(std::min<uint64_t>(want, wmem_max));
}

class SeqpacketChannel final : public OwnedChannel {
 public:
  SeqpacketChannel(const ChannelConfig& c, KernelSync sync, sys::Fd sock, sys::Fd peer)
      : message_bytes_(c.message_bytes),
        wait_(sync, c.abort),
        sock_(std::move(sock)),
        peer_(std::move(peer)) {}

  Status send(const FrameHeader& h, std::span<const std::byte> payload) override {
    auto head = std::as_bytes(std::span(&h, 1));
    int fd = sock_.get();
    IPCB_TRY(size_t n,
             wait_.until_done([&] { return sys::write_some(fd, head, payload, true, kWhat); }, fd,
                              POLLOUT, "send"));
    if (n != head.size() + payload.size()) {
      return plain_error("sendmsg(unix_seqpacket)", "sent " + std::to_string(n) + " of " +
                                                        std::to_string(message_bytes_) + " bytes");
    }
    return ok_status();
  }

  Result<size_t> recv(std::span<std::byte> buf) override {
    if (buf.size() < message_bytes_) return plain_error("recv", "buffer smaller than a message");
    int fd = sock_.get();
    auto into = buf.first(message_bytes_);
    IPCB_TRY(sys::Datagram d, wait_.until_done([&] { return sys::recv_record(fd, into, kWhat); },
                                               fd, POLLIN, "recv"));
    if (d.bytes == 0) {
      return Error{"recvmsg", kWhat, 0, "end of file (the peer closed its end)"};
    }
    if (d.truncated || d.bytes != message_bytes_) {
      return plain_error("recvmsg(unix_seqpacket)",
                         std::string("a record of ") + (d.truncated ? "more than " : "") +
                             std::to_string(d.bytes) + " bytes, expected " +
                             std::to_string(message_bytes_));
    }
    return message_bytes_;
  }

  std::string object() const override { return fd_object({peer_.get()}); }
  std::vector<int> inherited_fds() const override { return {peer_.get()}; }
  void peer_spawned() override { peer_.reset(); }

 private:
  static constexpr const char* kWhat = "unix_seqpacket";
  size_t message_bytes_;
  KernelWait wait_;
  sys::Fd sock_, peer_;
};

Status size_buffers(int fd, size_t message_bytes) {
  IPCB_TRY(uint64_t wmem_max, sys::read_sysctl("net.core.wmem_max"));
  IPCB_TRY(uint64_t rmem_max, sys::read_sysctl("net.core.rmem_max"));
  const std::string what = "unix_seqpacket fd " + std::to_string(fd);
  IPCB_TRY_STATUS(sys::set_socket_int(fd, SOL_SOCKET, SO_SNDBUF,
                                      sndbuf_for(message_bytes, wmem_max), "SO_SNDBUF", what));
  return sys::set_socket_int(fd, SOL_SOCKET, SO_RCVBUF, sndbuf_for(message_bytes, rmem_max),
                             "SO_RCVBUF", what);
}

Status set_mode(int fd, KernelSync sync) {
  return sys::set_nonblocking(fd, sync != KernelSync::kBlock, "unix_seqpacket");
}

}  // namespace

std::string unix_seqpacket_size_limit(size_t message_bytes, size_t /*channels: per socket*/,
                                      bool /*deep*/) {
  auto wmem_max = sys::read_sysctl("net.core.wmem_max");
  if (!wmem_max) return wmem_max.error().message();
  size_t by_buffer = 2 * static_cast<size_t>(*wmem_max) - kSndbufSlack;
  if (message_bytes > by_buffer) {
    return "message of " + std::to_string(message_bytes) +
           " bytes exceeds 2 x net.core.wmem_max - 32 = " + std::to_string(by_buffer) +
           " (net.core.wmem_max = " + std::to_string(*wmem_max) + ")";
  }
  if (message_bytes > largest_record()) {
    return "message of " + std::to_string(message_bytes) +
           " bytes exceeds the largest AF_UNIX record the kernel allocates = " +
           std::to_string(largest_record()) + " (one kmalloc of PAGE_SIZE << 10, plus 17 pages)";
  }
  return {};
}

Result<std::unique_ptr<OwnedChannel>> create_unix_seqpacket_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "unix_seqpacket"));
  IPCB_TRY_STATUS(check_size_limit(unix_seqpacket_size_limit(c.message_bytes), "unix_seqpacket"));
  IPCB_TRY(auto pair, sys::make_socketpair(SOCK_SEQPACKET, "unix_seqpacket"));
  // Both ends are sized here, before the peer inherits its end.
  for (int fd : {pair.first.get(), pair.second.get()}) {
    IPCB_TRY_STATUS(size_buffers(fd, c.message_bytes));
  }
  IPCB_TRY_STATUS(set_mode(pair.first.get(), sync));
  return std::unique_ptr<OwnedChannel>(
      new SeqpacketChannel(c, sync, std::move(pair.first), std::move(pair.second)));
}

Result<std::unique_ptr<Channel>> open_unix_seqpacket_channel(const ChannelConfig& c,
                                                             const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "unix_seqpacket"));
  IPCB_TRY(sys::Fd sock, inherited_unix_socket(object, SOCK_SEQPACKET, "unix_seqpacket"));
  IPCB_TRY_STATUS(set_mode(sock.get(), sync));
  return std::unique_ptr<Channel>(new SeqpacketChannel(c, sync, std::move(sock), sys::Fd()));
}

}  // namespace ipcb
