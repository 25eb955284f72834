// unix_seqpacket: a connected pair of AF_UNIX SOCK_SEQPACKET sockets (socketpair(2), unix(7));
// the peer inherits its end. Message-oriented: one send is one record, delivered whole. A
// record must fit the sender's socket buffer (SO_SNDBUF, at most net.core.wmem_max) and one
// kernel allocation, which bounds the message size (see unix_seqpacket_size_limit).
#pragma once
#include <string>

#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_unix_seqpacket_channel;
OpenChannelFn open_unix_seqpacket_channel;
std::string unix_seqpacket_size_limit(size_t message_bytes, size_t channels = 1, bool deep = false);
}  // namespace ipcb
