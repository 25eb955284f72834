// Fanout over shared memory: one segment read by N peers, so one write reaches all of them.
// The owner writes each message once into a BroadcastRing; peer i reads it with its own
// position and answers (acknowledgements) on its own SPSC return ring. Every wait condition has
// a waiter slot, as in shm_channel: one "has data" per reader, one shared "has space", and the
// two of each return ring.
//
//   0      header (magic, version, readers, slots, ring and message sizes, sync name)
//   256    head, then one tail per reader         one cache line each
//   ...    return-ring controls                   RingControl per reader
//   ...    waiter slots                           space, data[i], ret_data[i], ret_space[i]
//   ...    broadcast slots, then the return rings (page aligned)
//
// The owner gets one channel per peer: channel 0 writes the broadcast (the others cannot send),
// channel i receives peer i's answers. Peer i opens "fanout:<i>:<n>:<segment object>".
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "backends/segment.h"
#include "harness/transport/channel.h"

namespace ipcb {

// `config.abort` is raised when any peer is gone (it guards the broadcast sends, which wait for
// every reader); `view_aborts[i]` when peer i is gone (it guards receiving from peer i).
Result<std::vector<std::unique_ptr<OwnedChannel>>> create_shm_broadcast(
    const SegmentKind& kind, const ChannelConfig& config,
    const std::vector<const std::atomic<bool>*>& view_aborts);
// True for objects naming one reader of a broadcast segment.
bool is_broadcast_object(const std::string& object);
Result<std::unique_ptr<Channel>> open_shm_broadcast(const SegmentKind& kind,
                                                    const ChannelConfig& config,
                                                    const std::string& object);

}  // namespace ipcb
