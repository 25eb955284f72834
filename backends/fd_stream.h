// The byte-stream kernel channels (pipe, fifo, unix_stream, tcp_loopback) share this: a channel
// over an rx and a tx descriptor (one socket for both). A message goes out as one writev of
// header + payload and is reassembled from as many reads as it takes, so any size travels.
// A dead peer shows as end of file or EPIPE/ECONNRESET, named by the call that saw it.
#pragma once

#include <string>

#include "backends/kernel_channel.h"

namespace ipcb {

class FdStreamChannel : public OwnedChannel {
 public:
  Status send(const FrameHeader& header, std::span<const std::byte> payload) override;
  Result<size_t> recv(std::span<std::byte> buf) override;

 protected:
  FdStreamChannel(const ChannelConfig& config, KernelSync sync, const char* backend);

  // Transfers use `fd` from now on (not owned here); puts it in the strategy's blocking mode.
  Status attach_rx(int fd);
  Status attach_tx(int fd, bool socket);
  // Lazy set-up before the first receive / send, for descriptors that are not ready when the
  // channel is built (a FIFO's write end, an accepted connection). Must attach, or fail.
  virtual Status open_rx();
  virtual Status open_tx();

  const KernelWait& waiter() const { return wait_; }
  const std::string& what() const { return what_; }

 private:
  size_t message_bytes_;
  KernelWait wait_;
  std::string what_;  // the backend's name, for errors
  int rx_ = -1;
  int tx_ = -1;
  bool socket_ = false;
};

}  // namespace ipcb
