// The parts of the channel interface every channel shares (see channel.h).
#include "harness/channel.h"

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

}  // namespace ipcb
