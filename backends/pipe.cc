// pipe backend (see pipe.h): a byte stream (fd_stream.h) over the two pipes' ends.
#include "backends/pipe.h"

#include <fcntl.h>

#include "backends/fd_stream.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

class PipeChannel final : public FdStreamChannel {
 public:
  // The owner keeps the peer's ends until peer_spawned(); the peer passes empty ones.
  static Result<std::unique_ptr<PipeChannel>> make(const ChannelConfig& c, KernelSync sync,
                                                   sys::Fd rx, sys::Fd tx, sys::Fd peer_rx,
                                                   sys::Fd peer_tx) {
    std::unique_ptr<PipeChannel> ch(new PipeChannel(c, sync));
    ch->rx_ = std::move(rx);
    ch->tx_ = std::move(tx);
    ch->peer_rx_ = std::move(peer_rx);
    ch->peer_tx_ = std::move(peer_tx);
    IPCB_TRY_STATUS(ch->attach_rx(ch->rx_.get()));
    IPCB_TRY_STATUS(ch->attach_tx(ch->tx_.get(), /*socket=*/false));
    return ch;
  }

  std::string object() const override { return fd_object({peer_rx_.get(), peer_tx_.get()}); }
  std::vector<int> inherited_fds() const override { return {peer_rx_.get(), peer_tx_.get()}; }
  void peer_spawned() override {
    peer_rx_.reset();
    peer_tx_.reset();
  }

 private:
  PipeChannel(const ChannelConfig& c, KernelSync sync) : FdStreamChannel(c, sync, "pipe") {}
  sys::Fd rx_, tx_, peer_rx_, peer_tx_;
};

// The inherited descriptor must really be a pipe end of the right direction, not whatever
// happens to have that number.
Status check_pipe_end(int fd, int mode) {
  std::string what = "pipe fd " + std::to_string(fd);
  IPCB_TRY(size_t capacity, sys::pipe_capacity(fd));
  (void)capacity;
  IPCB_TRY(int actual, sys::access_mode(fd, what));
  if (actual != mode) {
    return plain_error(what, mode == O_RDONLY ? "not a read end" : "not a write end");
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<OwnedChannel>> create_pipe_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "pipe"));
  IPCB_TRY(auto to_peer, sys::make_pipe(O_CLOEXEC));
  IPCB_TRY(auto to_owner, sys::make_pipe(O_CLOEXEC));
  IPCB_TRY(auto ch, PipeChannel::make(c, sync, std::move(to_owner.first), std::move(to_peer.second),
                                      std::move(to_peer.first), std::move(to_owner.second)));
  return std::unique_ptr<OwnedChannel>(std::move(ch));
}

Result<std::unique_ptr<Channel>> open_pipe_channel(const ChannelConfig& c,
                                                   const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "pipe"));
  IPCB_TRY(auto fds, parse_fd_object(object, 2, "pipe"));
  if (fds[0] == fds[1]) return plain_error("pipe", "the same descriptor for both directions");
  sys::Fd rx(fds[0]), tx(fds[1]);  // owned from here, so a failed check closes them
  IPCB_TRY_STATUS(check_pipe_end(rx.get(), O_RDONLY));
  IPCB_TRY_STATUS(check_pipe_end(tx.get(), O_WRONLY));
  IPCB_TRY(auto ch, PipeChannel::make(c, sync, std::move(rx), std::move(tx), sys::Fd(), sys::Fd()));
  return std::unique_ptr<Channel>(std::move(ch));
}

}  // namespace ipcb
