// The list of backends: adding a mechanism is its file pair plus one entry here.
#include "backends/backend.h"
#include "backends/fifo.h"
#include "backends/kernel_channel.h"
#include "backends/memfd.h"
#include "backends/mmap_file.h"
#include "backends/pipe.h"
#include "backends/posix_mq.h"
#include "backends/posix_shm.h"
#include "backends/shm_broadcast.h"
#include "backends/shm_channel.h"
#include "backends/sysv_msg.h"
#include "backends/sysv_shm.h"
#include "backends/tcp_loopback.h"
#include "backends/unix_seqpacket.h"
#include "backends/unix_stream.h"

namespace ipcb {
namespace {

// Adapts a SegmentKind to the backend's create/open pair.
template <SegmentKind (*Kind)()>
Result<std::unique_ptr<OwnedChannel>> create_shm(const ChannelConfig& c) {
  return create_shm_channel(Kind(), c);
}
template <SegmentKind (*Kind)()>
Result<std::unique_ptr<Channel>> open_shm(const ChannelConfig& c, const std::string& object) {
  if (is_broadcast_object(object)) return open_shm_broadcast(Kind(), c, object);
  return open_shm_channel(Kind(), c, object);
}
template <SegmentKind (*Kind)()>
Result<std::vector<std::unique_ptr<OwnedChannel>>> create_fanout(
    const ChannelConfig& c, const std::vector<const std::atomic<bool>*>& view_aborts) {
  return create_shm_broadcast(Kind(), c, view_aborts);
}

// The entry of a shared-memory backend: its segment kind behind the shared ring channel.
template <SegmentKind (*Kind)(), std::string (*SizeLimit)(size_t, size_t, bool)>
BackendInfo shm_backend(const char* name, const char* description) {
  return {.name = name,
          .kind = "shm",
          .description = description,
          .syncs = shm_syncs,
          .create = create_shm<Kind>,
          .open = open_shm<Kind>,
          .size_limit = SizeLimit,
          .create_fanout = create_fanout<Kind>};
}

}  // namespace

const std::vector<BackendInfo>& backends() {
  static const std::vector<BackendInfo> kAll = {
      shm_backend<sysv_shm_segments, sysv_shm_size_limit>(
          "sysv_shm", "System V segment (shmget/shmat), opened by key"),
      shm_backend<posix_shm_segments, posix_shm_size_limit>(
          "posix_shm", "POSIX shared memory (shm_open + mmap), opened by name"),
      shm_backend<mmap_file_segments, mmap_file_size_limit>(
          "mmap_file", "a file mapped MAP_SHARED, opened by path"),
      shm_backend<memfd_segments, memfd_size_limit>(
          "memfd", "an anonymous memfd, sealed, descriptor inherited by the peer"),
      {"pipe", "kernel", "two anonymous pipes, descriptors inherited by the peer", kernel_syncs,
       create_pipe_channel, open_pipe_channel, no_size_limit, nullptr},
      {"fifo", "kernel", "two named pipes (mkfifo), opened by path", kernel_syncs,
       create_fifo_channel, open_fifo_channel, no_size_limit, nullptr},
      {"unix_stream", "kernel", "AF_UNIX SOCK_STREAM socketpair, end inherited by the peer",
       kernel_syncs, create_unix_stream_channel, open_unix_stream_channel, no_size_limit, nullptr},
      {"unix_seqpacket", "kernel", "AF_UNIX SOCK_SEQPACKET socketpair, one record per message",
       kernel_syncs, create_unix_seqpacket_channel, open_unix_seqpacket_channel,
       unix_seqpacket_size_limit, nullptr},
      {"sysv_msg", "kernel", "two System V message queues (msgsnd/msgrcv), opened by key",
       sysv_msg_syncs, create_sysv_msg_channel, open_sysv_msg_channel, sysv_msg_size_limit,
       nullptr},
      {"posix_mq", "kernel", "two POSIX message queues (mq_send/mq_receive), opened by name",
       kernel_syncs, create_posix_mq_channel, open_posix_mq_channel, posix_mq_size_limit, nullptr},
      {"tcp_loopback", "kernel", "one TCP connection over 127.0.0.1 (a reference point)",
       kernel_syncs, create_tcp_loopback_channel, open_tcp_loopback_channel, no_size_limit,
       nullptr},
  };
  return kAll;
}

const BackendInfo* find_backend(const std::string& name) {
  for (const auto& b : backends()) {
    if (name == b.name) return &b;
  }
  return nullptr;
}

bool sync_valid_for(const BackendInfo& b, const std::string& sync) {
  for (const auto& s : b.syncs()) {
    if (s == sync) return true;
  }
  return false;
}

}  // namespace ipcb
