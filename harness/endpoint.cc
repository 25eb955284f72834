// Endpoint (see endpoint.h).
#include "harness/endpoint.h"

namespace ipcb {

Endpoint::Endpoint(Channel& channel, size_t payload_bytes, VerifyMode mode)
    : channel_(channel),
      source_(payload_bytes),
      checker_(source_, mode),
      rx_buf_(sizeof(FrameHeader) + payload_bytes) {}

Status Endpoint::send(uint32_t flags, uint64_t send_ns) {
  uint64_t seq = tx_seq_++;
  FrameHeader h{seq, static_cast<uint32_t>(source_.size()), flags, send_ns, source_.checksum(seq)};
  return channel_.send(h, source_.payload(seq));
}

Status Endpoint::echo(const FrameHeader& received) {
  FrameHeader h = received;
  h.seq = tx_seq_++;
  h.flags = kFrameData;
  return channel_.send(h, std::span<const std::byte>(rx_buf_).subspan(sizeof(FrameHeader)));
}

Result<FrameHeader> Endpoint::recv() {
  IPCB_TRY(size_t n, channel_.recv(rx_buf_));
  auto msg = std::span<const std::byte>(rx_buf_).first(n);
  last_fault_ = checker_.check(msg);
  return read_header(msg);
}

}  // namespace ipcb
