// A third process scribbling the segment of a running shared-memory benchmark: the layout facts
// it needs (backends/shm_channel.cc, harness/transport/slot_ring.h, harness/transport/frame.h), and
// one scribble scenario run end to end: start the run, reach the long measured call, freeze the
// side that writes the field (so it cannot repair it), write, let the other side run into it, thaw,
// judge.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/transport/frame.h"
#include "harness/transport/slot_ring.h"
#include "tests/fault_proc.h"

namespace ipcb::test::fault {

// The channel segment of a run of 64-byte payloads, seen through the harness's mapping (writes
// go through /proc/PID/mem):
//   0     SegmentHeader (magic, version 2, slots per ring, message_bytes, sync name)
//   256   ring 0's SlotCredit, 320 ring 1's: `released`, written by the ring's consumer only
//   512   four waiter slots: ring 0 data, ring 0 space, ring 1 data, ring 1 space
//   4096  ring 0's slots, then ring 1's; a slot of two lines is [message][...][u64 stamp =
//         position + 1] (the stamp ends the slot)
// Ring 0 carries harness -> peer, ring 1 peer -> harness.
struct SegmentView {
  static constexpr size_t kCredits = 256, kWaiters = 512, kWaiterBytes = 256, kData = 4096;
  static constexpr size_t kPayload = 64;
  static constexpr size_t kMessage = sizeof(FrameHeader) + kPayload;            // 96
  static constexpr size_t kSlotBytes = SlotRing::slot_bytes_for(kMessage);      // 128
  static constexpr size_t kStampAt = SlotRing::stamp_offset_for(kMessage);      // 120
  static constexpr size_t kMessageAt = SlotRing::message_offset_for(kMessage);  // 0
  pid_t pid = -1;
  Mapping map;
  size_t slots = 0;  // per ring: 64 (pingpong), 65536 (deep rings: stream, fanin, fanout)
  static size_t bytes(bool deep);  // the segment's size for these runs
  static size_t slots_for(bool deep);
  uintptr_t credit(int r) const { return map.start + kCredits + sizeof(SlotCredit) * r; }
  // Waiter slot i: 0 ring 0 data, 1 ring 0 space, 2 ring 1 data, 3 ring 1 space.
  uintptr_t waiter(int i) const { return map.start + kWaiters + kWaiterBytes * i; }
  // The slot of ring r that position `pos` uses (its first byte).
  uintptr_t slot(int r, uint64_t pos) const {
    return map.start + kData + (r * slots + (pos & (slots - 1))) * kSlotBytes;
  }
  uintptr_t stamp_at(int r, uint64_t pos) const { return slot(r, pos) + kStampAt; }
  uint64_t stamp(int r, uint64_t pos) const { return load(stamp_at(r, pos)); }
  // What the stamp of position `pos` holds before it is written: the previous lap's, 0 at first.
  uint64_t not_yet(uint64_t pos) const { return pos < slots ? 0 : pos + 1 - slots; }
  // Messages published on ring r so far: the highest stamp of its slots (reads the whole ring:
  // for the short rings of pingpong).
  std::optional<uint64_t> head(int r) const;
  uint64_t load(uintptr_t a) const { return peek_as<uint64_t>(pid, a).value_or(0); }
  bool store(uintptr_t a, uint64_t v) const { return poke(pid, a, &v, sizeof v); }
};
// The segment `backend` maps in `harness` for a run with (`deep`) or without deep rings,
// waiting up to `timeout_s` for it.
std::optional<SegmentView> find_view(pid_t harness, const std::string& backend,
                                     const std::string& mmap_dir, double timeout_s,
                                     bool deep = false);

// For pingpong, with ring r's producer frozen: the position of ring r's next message when its
// consumer has read everything before it (ring 0: the peer answered every message on ring 1;
// ring 1: the harness has sent its next message, so it read every answer) and that slot is
// still unwritten; nullopt otherwise (not now).
std::optional<uint64_t> caught_up(const SegmentView& v, int r);

// Offsets in a message (the frame header, then the payload).
inline constexpr size_t kSeq = offsetof(FrameHeader, seq);
inline constexpr size_t kPayloadBytes = offsetof(FrameHeader, payload_bytes);
inline constexpr size_t kFlags = offsetof(FrameHeader, flags);
inline constexpr size_t kChecksum = offsetof(FrameHeader, checksum);
// Forges ring r's next slot (pingpong): the message its producer would send next (the last
// published frame's flags and send_ns, its seq + 1, that seq's payload and checksum), passed
// through `edit` (given the message's bytes), is written, then its stamp. Needs the producer
// frozen and the consumer caught up (see caught_up); false (and nothing written) otherwise.
bool forge_slot(const SegmentView& v, int r,
                const std::function<void(std::vector<std::byte>&)>& edit);
template <typename T>
void put(std::vector<std::byte>& msg, size_t off, T value) {
  std::memcpy(msg.data() + off, &value, sizeof value);
}
template <typename T>
T get(const std::vector<std::byte>& msg, size_t off) {
  T v{};
  std::memcpy(&v, msg.data() + off, sizeof v);
  return v;
}

enum class Freeze { kNone, kHarness, kPeer };

// What the run must do after the write.
enum class Ends {
  kAtOnce,      // fail (exit 1) within the stall deadline of the write, naming `words`
  kMaySurvive,  // a short run: finish normally (exit 0, every message verified) or fail as above
  kNormally,    // a short run that must finish normally (a write the channel must accept)
  kAtItsEnd,    // a short run that must fail at its end, naming `words` (a counted fault)
};

struct Scribble {
  std::string name;
  std::function<bool(const SegmentView&)> act;  // the write; false: not now (retried)
  Freeze freeze = Freeze::kNone;                // who is frozen while `act` runs
  const char* workload = "pingpong";
  std::vector<std::string> words = {"corrupt"};  // the message must name one
  std::vector<std::string> not_words;            // ... and none of these
  // kMaySurvive: the channel may survive the write (a wait primitive's word, a value nobody
  // reads again before its writer rewrites it); if it fails instead, it must name `words`.
  Ends ends = Ends::kAtOnce;
  // Done while the first peer is held before its exec (it has not opened the channel yet).
  bool at_startup = false;
};

// Runs `s` against a pingpong (or s.workload) run of backend/sync, judging the outcome with
// gtest expectations named after the case.
void run_scribble(const std::string& backend, const std::string& sync, const Scribble& s);

}  // namespace ipcb::test::fault
