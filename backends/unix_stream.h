// unix_stream: a connected pair of AF_UNIX SOCK_STREAM sockets (socketpair(2), unix(7)); the
// peer inherits its end. A byte stream like pipe, one descriptor for both directions.
#pragma once
#include <string>

#include "backends/backend.h"
#include "harness/sys/sys.h"

namespace ipcb {
CreateChannelFn create_unix_stream_channel;
OpenChannelFn open_unix_stream_channel;
// The socket a peer inherited, named by `object` ("fd:N"); fails unless it is an AF_UNIX socket
// of `type`.
Result<sys::Fd> inherited_unix_socket(const std::string& object, int type, const char* backend);
}  // namespace ipcb
