// The one interface every workload uses: send a message, receive a message.
//
// Every message of a channel has the same size (frame header + payload), fixed when the channel
// is built. Calls block until done; they give up only when `abort` (set by the run's watchdog
// when the peer died or stalled) becomes true, or when the peer closes its end.
#pragma once

#include <atomic>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "harness/sys/error.h"
#include "harness/transport/frame.h"

namespace ipcb {

class SlotRing;

// A shared-memory channel's rings, for Endpoint's inline fast path: only when every waiter of
// the channel polls (its notify() does nothing), so a commit or release needs no call. `spin`:
// the waiter busy-polls, so the fast path may poll too before it falls back to the waiter.
struct PollingRings {
  SlotRing* tx = nullptr;
  SlotRing* rx = nullptr;
  bool spin = false;
};

struct ChannelConfig {
  size_t message_bytes = 0;                  // sizeof(FrameHeader) + payload, for every message
  std::string sync;                          // waiter or kernel strategy name
  const std::atomic<bool>* abort = nullptr;  // never null when the channel is used
  uint64_t sleep_ns = 50'000;                // `sleep` waiter: nanosleep between polls
  uint64_t spin_ns = 20'000;                 // `adaptive` waiter: spin this long, then block
  // Many messages in flight (stream, fanin, fanout): shared-memory rings get deep (2-8 MiB), not
  // the few slots a ping-pong needs. Both sides must agree (the peer knows the workload).
  bool deep = false;
};

class Channel {
 public:
  virtual ~Channel() = default;
  // Sends header + payload as one message (payload.size() == message_bytes - header).
  virtual Status send(const FrameHeader& header, std::span<const std::byte> payload) = 0;
  // Receives one message into buf (buf.size() >= message_bytes). Returns its length.
  virtual Result<size_t> recv(std::span<std::byte> buf) = 0;

  // In-place (zero-copy) access, for channels whose messages live in shared memory. The sender
  // writes header and payload straight into the slot reserve_send() returns (message_bytes long)
  // and publishes it with commit_send(); the receiver reads the message where it lies
  // (peek_recv) and frees the slot with release_recv(). The bytes stay shared with the peer, so
  // a reader must treat them as untrusted. Channels without it answer supports_inplace() false.
  virtual bool supports_inplace() const { return false; }
  // How a wait on this channel waits ("spin", "sleep", "block", ...); "" when the sync
  // strategy's name says it (kernel channels).
  virtual std::string wait_mode() const { return {}; }
  // Shared memory: the bytes of the ring the measured side sends into (slots x slot size); 0
  // for kernel channels, whose buffers the kernel sizes.
  virtual size_t ring_bytes() const { return 0; }
  virtual Result<std::span<std::byte>> reserve_send();
  virtual void commit_send() {}
  virtual Result<std::span<const std::byte>> peek_recv();
  virtual void release_recv() {}
  // The rings behind reserve_send / peek_recv when the fast path may use them directly (see
  // PollingRings); empty otherwise. Whatever the fast path cannot do at once (a full ring, a
  // message not there yet, a corrupt stamp or credit) it leaves to the calls above.
  virtual PollingRings polling_rings() { return {}; }
};

// The creating side of a channel: the channel plus what the peer needs to open it by name.
class OwnedChannel : public Channel {
 public:
  // What goes on the peer's command line after --object: a name, a key or descriptor numbers.
  virtual std::string object() const = 0;
  // Descriptors the peer must inherit (kept open across exec at the same number).
  virtual std::vector<int> inherited_fds() const { return {}; }
  // Called once the peer process exists: close our copies of the peer's descriptors.
  virtual void peer_spawned() {}
  // Called once the peer has opened the object and answered: the owner removes the name (the
  // object lives on while mapped or open), so even a SIGKILL of both sides leaks nothing.
  virtual Status peer_connected() { return ok_status(); }
  // Called from the watchdog thread once `abort` is raised, for channels whose blocking calls
  // cannot watch the flag (e.g. msgrcv): make the blocked call return (e.g. remove the queue).
  virtual void interrupt() {}
};

// An owned channel whose messages live in shared-memory slots: its copy mode is the in-place
// calls plus one copy in (send) or out (recv), so both modes move bytes the same way.
class SlotChannel : public OwnedChannel {
 public:
  Status send(const FrameHeader& header, std::span<const std::byte> payload) override;
  Result<size_t> recv(std::span<std::byte> buf) override;
  bool supports_inplace() const override { return true; }
};

// An error for a wait that ended because the watchdog raised `abort`.
Error aborted_error(const char* what);

}  // namespace ipcb
