// A channel over any Segment: two SPSC rings (owner->peer, peer->owner) and a waiter per wait
// condition, laid out as below. The opener validates the header against its own configuration
// and never trusts sizes read from the segment.
//
//   0      SegmentHeader (magic, version, ring and message sizes, sync name)
//   256    RingControl[2]                  head/tail, each on its own cache line
//   512    waiter slots [ring][data|space]  Waiter::kSlotBytes each
//   4096   ring 0 data, then ring 1 data
#pragma once

#include "backends/segment.h"
#include "harness/transport/channel.h"

namespace ipcb {

// Bytes a segment needs for a channel with this configuration.
size_t shm_channel_bytes(const ChannelConfig& config);
Result<std::unique_ptr<OwnedChannel>> create_shm_channel(const SegmentKind& kind,
                                                         const ChannelConfig& config);
Result<std::unique_ptr<Channel>> open_shm_channel(const SegmentKind& kind,
                                                  const ChannelConfig& config,
                                                  const std::string& object);
// The syncs a shm backend takes: every registered waiter.
std::vector<std::string> shm_syncs();

}  // namespace ipcb
