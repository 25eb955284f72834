// posix_mq: two POSIX message queues (mq_overview(7)), one per direction, created exclusively
// with mode 0600 under unguessable names and opened by the peer by name; mq_msgsize is the
// message size, so fs.mqueue.msgsize_max bounds it. The owner unlinks both names once the peer
// is connected. `block` waits in mq_timed* calls of one slice each, so it sees `abort`.
#pragma once
#include <string>

#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_posix_mq_channel;
OpenChannelFn open_posix_mq_channel;
std::string posix_mq_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
