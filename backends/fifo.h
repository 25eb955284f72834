// fifo: two named pipes (mkfifo(3), fifo(7)), one per direction, created 0600 under unguessable
// names in mmap_file's directory; the peer opens them by path. Both sides open their read end
// at once (a non-blocking open of a read end never waits) and their write end as soon as the
// other's read end exists; the owner removes both names once the peer is connected.
#pragma once
#include "backends/backend.h"

namespace ipcb {
CreateChannelFn create_fifo_channel;
OpenChannelFn open_fifo_channel;
}  // namespace ipcb
