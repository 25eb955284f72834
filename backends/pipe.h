// pipe: two anonymous pipes (one per direction, pipe(7)); the peer inherits its two descriptors
// and is told their numbers. Messages above PIPE_BUF arrive in pieces and are reassembled.
#pragma once
#include <memory>

#include "harness/transport/channel.h"

namespace ipcb {
Result<std::unique_ptr<OwnedChannel>> create_pipe_channel(const ChannelConfig& config);
Result<std::unique_ptr<Channel>> open_pipe_channel(const ChannelConfig& config,
                                                   const std::string& object);
}  // namespace ipcb
