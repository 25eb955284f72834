// A mechanism ipcbench can measure. Each backend is a file pair plus one line in registry.cc;
// it knows how to create a channel (the owner side) and how to open one by name (the peer).
// Backends know nothing of workloads.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "harness/transport/channel.h"

namespace ipcb {

// The two functions every channel backend provides, declared in its header as
// `CreateChannelFn create_NAME_channel;` and `OpenChannelFn open_NAME_channel;`: the owner's side
// creates the object, the peer's side opens it by the name, key or descriptor `object()` gave.
using CreateChannelFn = Result<std::unique_ptr<OwnedChannel>>(const ChannelConfig& config);
using OpenChannelFn = Result<std::unique_ptr<Channel>>(const ChannelConfig& config,
                                                       const std::string& object);

struct BackendInfo {
  const char* name;
  const char* kind;  // "shm" (ring + waiter) or "kernel" (the kernel carries the bytes)
  const char* description;
  std::vector<std::string> (*syncs)();  // the sync strategies valid with this backend
  CreateChannelFn* create;
  OpenChannelFn* open;
  // Why this backend cannot carry messages of `message_bytes` (header included) on this machine
  // over `channels` channels at once (fanin and fanout hold one per peer), with `deep` rings
  // when many messages are in flight (see ChannelConfig::deep), naming the limit and
  // its value ("exceeds fs.mqueue.msgsize_max = 8192"), or "" if it can.
  std::string (*size_limit)(size_t message_bytes, size_t channels, bool deep);
  // Shared memory only (else null): one object read by every fanout peer, so one write reaches
  // them all. Returns one owner channel per peer; see backends/shm_broadcast.h.
  Result<std::vector<std::unique_ptr<OwnedChannel>>> (*create_fanout)(
      const ChannelConfig& config, const std::vector<const std::atomic<bool>*>& view_aborts);
};

const std::vector<BackendInfo>& backends();
const BackendInfo* find_backend(const std::string& name);
bool sync_valid_for(const BackendInfo& backend, const std::string& sync);
// For backends without a size limit of their own.
inline std::string no_size_limit(size_t, size_t, bool) {
  return {};
}

}  // namespace ipcb
