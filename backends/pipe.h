// pipe: two anonymous pipes (one per direction, pipe(7)); the peer inherits its two descriptors
// and is told their numbers. Messages above PIPE_BUF arrive in pieces and are reassembled.
#pragma once
#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_pipe_channel;
OpenChannelFn open_pipe_channel;
}  // namespace ipcb
