// unix_stream backend (see unix_stream.h): a byte stream (fd_stream.h) over one socket.
#include "backends/unix_stream.h"

#include <sys/socket.h>

#include "backends/fd_stream.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

class UnixStreamChannel final : public FdStreamChannel {
 public:
  // The owner keeps the peer's end until peer_spawned(); the peer passes an empty one.
  static Result<std::unique_ptr<UnixStreamChannel>> make(const ChannelConfig& c, KernelSync sync,
                                                         sys::Fd sock, sys::Fd peer) {
    std::unique_ptr<UnixStreamChannel> ch(new UnixStreamChannel(c, sync));
    ch->sock_ = std::move(sock);
    ch->peer_ = std::move(peer);
    IPCB_TRY_STATUS(ch->attach_rx(ch->sock_.get()));
    IPCB_TRY_STATUS(ch->attach_tx(ch->sock_.get(), /*socket=*/true));
    return ch;
  }

  std::string object() const override { return fd_object({peer_.get()}); }
  std::vector<int> inherited_fds() const override { return {peer_.get()}; }
  void peer_spawned() override { peer_.reset(); }

 private:
  UnixStreamChannel(const ChannelConfig& c, KernelSync sync)
      : FdStreamChannel(c, sync, "unix_stream") {}
  sys::Fd sock_, peer_;
};

// Fails unless `fd` is an AF_UNIX socket of `type` (the check of an inherited descriptor).
Status check_unix_socket(int fd, int type, const char* backend) {
  std::string what = std::string(backend) + " fd " + std::to_string(fd);
  IPCB_TRY(int domain, sys::get_socket_int(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN", what));
  IPCB_TRY(int actual, sys::get_socket_int(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE", what));
  if (domain != AF_UNIX || actual != type) {
    return plain_error(what, "not an AF_UNIX socket of the expected type");
  }
  return ok_status();
}

}  // namespace

Result<sys::Fd> inherited_unix_socket(const std::string& object, int type, const char* backend) {
  IPCB_TRY(auto fds, parse_fd_object(object, 1, backend));
  sys::Fd sock(fds[0]);
  IPCB_TRY_STATUS(check_unix_socket(sock.get(), type, backend));
  return sock;
}

Result<std::unique_ptr<OwnedChannel>> create_unix_stream_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "unix_stream"));
  IPCB_TRY(auto pair, sys::make_socketpair(SOCK_STREAM, "unix_stream"));
  IPCB_TRY(auto ch,
           UnixStreamChannel::make(c, sync, std::move(pair.first), std::move(pair.second)));
  return std::unique_ptr<OwnedChannel>(std::move(ch));
}

Result<std::unique_ptr<Channel>> open_unix_stream_channel(const ChannelConfig& c,
                                                          const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "unix_stream"));
  IPCB_TRY(sys::Fd sock, inherited_unix_socket(object, SOCK_STREAM, "unix_stream"));
  IPCB_TRY(auto ch, UnixStreamChannel::make(c, sync, std::move(sock), sys::Fd()));
  return std::unique_ptr<Channel>(std::move(ch));
}

}  // namespace ipcb
