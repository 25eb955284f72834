// The parts of the channel interface every channel shares (see channel.h).
#include "harness/transport/channel.h"

#include <cstring>
#include <string>

namespace ipcb {

Error aborted_error(const char* what) {
  return plain_error(what, "aborted: the peer is gone or the run stalled");
}

Result<std::span<std::byte>> Channel::reserve_send() {
  return plain_error("send", "this channel has no in-place mode");
}

Result<std::span<const std::byte>> Channel::peek_recv() {
  return plain_error("recv", "this channel has no in-place mode");
}

Status SlotChannel::send(const FrameHeader& h, std::span<const std::byte> payload) {
  IPCB_TRY(auto slot, reserve_send());
  if (slot.size() != sizeof h + payload.size()) {
    return plain_error("send", "slot of " + std::to_string(slot.size()) +
                                   " bytes for a message of " +
                                   std::to_string(sizeof h + payload.size()));
  }
  write_header(slot.data(), h);
  copy_bytes(slot.data() + sizeof h, payload.data(), payload.size());
  commit_send();
  return ok_status();
}

Result<size_t> SlotChannel::recv(std::span<std::byte> buf) {
  IPCB_TRY(auto msg, peek_recv());
  if (msg.size() > buf.size()) {
    return plain_error("recv",
                       "message of " + std::to_string(msg.size()) + " bytes exceeds the buffer");
  }
  copy_bytes(buf.data(), msg.data(), msg.size());
  release_recv();
  return msg.size();
}

}  // namespace ipcb
