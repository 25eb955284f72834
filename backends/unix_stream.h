// unix_stream: a connected pair of AF_UNIX SOCK_STREAM sockets (socketpair(2), unix(7)); the
// peer inherits its end. A byte stream like pipe, one descriptor for both directions.
#pragma once
#include <memory>

#include "harness/transport/channel.h"

namespace ipcb {
Result<std::unique_ptr<OwnedChannel>> create_unix_stream_channel(const ChannelConfig& config);
Result<std::unique_ptr<Channel>> open_unix_stream_channel(const ChannelConfig& config,
                                                          const std::string& object);
// Fails unless `fd` is an AF_UNIX socket of `type` (the check of an inherited descriptor).
Status check_unix_socket(int fd, int type, const char* backend);
}  // namespace ipcb
