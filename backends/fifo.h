// fifo: two named pipes (mkfifo(3), fifo(7)), one per direction, created 0600 under unguessable
// names in mmap_file's directory; the peer opens them by path. Both sides open their read end
// at once (a non-blocking open of a read end never waits) and their write end as soon as the
// other's read end exists; the owner removes both names once the peer is connected.
#pragma once
#include <memory>

#include "harness/transport/channel.h"

namespace ipcb {
Result<std::unique_ptr<OwnedChannel>> create_fifo_channel(const ChannelConfig& config);
Result<std::unique_ptr<Channel>> open_fifo_channel(const ChannelConfig& config,
                                                   const std::string& object);
}  // namespace ipcb
