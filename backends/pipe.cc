// pipe backend (see pipe.h). Only the `block` strategy exists so far: blocking read/write. A
// dead peer shows as end of file or EPIPE, a hung one is killed by the watchdog, which closes
// its ends, so a blocking call never outlives the run's deadline.
#include "backends/pipe.h"

#include <fcntl.h>

#include <cstdio>

#include "harness/sys.h"

namespace ipcb {
namespace {

class PipeChannel : public OwnedChannel {
 public:
  PipeChannel(const ChannelConfig& c, sys::Fd rx, sys::Fd tx, sys::Fd peer_rx, sys::Fd peer_tx)
      : message_bytes_(c.message_bytes),
        rx_(std::move(rx)),
        tx_(std::move(tx)),
        peer_rx_(std::move(peer_rx)),
        peer_tx_(std::move(peer_tx)) {}

  Status send(const FrameHeader& h, std::span<const std::byte> payload) override {
    return sys::writev_full(tx_.get(), std::as_bytes(std::span(&h, 1)), payload, "pipe");
  }

  Result<size_t> recv(std::span<std::byte> buf) override {
    if (buf.size() < message_bytes_) return plain_error("recv", "buffer smaller than a message");
    IPCB_TRY_STATUS(sys::read_full(rx_.get(), buf.first(message_bytes_), "pipe"));
    return message_bytes_;
  }

  std::string object() const override {
    return "fd:" + std::to_string(peer_rx_.get()) + "," + std::to_string(peer_tx_.get());
  }
  std::vector<int> inherited_fds() const override { return {peer_rx_.get(), peer_tx_.get()}; }
  void peer_spawned() override {
    peer_rx_.reset();
    peer_tx_.reset();
  }

 private:
  size_t message_bytes_;
  sys::Fd rx_, tx_, peer_rx_, peer_tx_;
};

}  // namespace

std::vector<std::string> kernel_syncs() {
  return {"block"};
}

Result<std::unique_ptr<OwnedChannel>> create_pipe_channel(const ChannelConfig& c) {
  if (c.sync != "block") return plain_error("sync", "pipe supports only 'block' so far");
  IPCB_TRY(auto to_peer, sys::make_pipe(O_CLOEXEC));
  IPCB_TRY(auto to_owner, sys::make_pipe(O_CLOEXEC));
  return std::unique_ptr<OwnedChannel>(
      new PipeChannel(c, std::move(to_owner.first), std::move(to_peer.second),
                      std::move(to_peer.first), std::move(to_owner.second)));
}

Result<std::unique_ptr<Channel>> open_pipe_channel(const ChannelConfig& c,
                                                   const std::string& object) {
  int rx = -1, tx = -1;
  if (std::sscanf(object.c_str(), "fd:%d,%d", &rx, &tx) != 2 || rx < 0 || tx < 0) {
    return plain_error("pipe", "bad descriptor list '" + object + "' (expected fd:R,W)");
  }
  // The inherited descriptors must really be pipes, not whatever happens to have that number.
  for (int fd : {rx, tx}) {
    if (::fcntl(fd, F_GETPIPE_SZ) < 0)
      return errno_error("fcntl(F_GETPIPE_SZ)", "fd " + std::to_string(fd));
  }
  return std::unique_ptr<Channel>(
      new PipeChannel(c, sys::Fd(rx), sys::Fd(tx), sys::Fd(), sys::Fd()));
}

}  // namespace ipcb
