// tcp_loopback (a reference point, not IPC proper): one TCP connection over 127.0.0.1 with
// TCP_NODELAY. The owner listens on a kernel-chosen port; the peer connects and first sends a
// random token from its command line, so a stranger's connection to the port is refused.
#pragma once
#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_tcp_loopback_channel;
OpenChannelFn open_tcp_loopback_channel;
}  // namespace ipcb
