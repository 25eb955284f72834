// A third process scribbling the segment of a running shared-memory benchmark: the layout facts
// it needs (backends/shm_channel.h, harness/ring.h, harness/frame.h), and one scribble scenario
// run end to end: start the run, reach the long measured call, freeze the side that writes the
// field (so it cannot repair it), write, let the other side run into it, thaw, judge.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/fault_proc.h"

namespace ipcb::test::fault {

// The channel segment of a pingpong/stream run of 64-byte payloads, seen through the harness's
// mapping (writes go through /proc/PID/mem).
struct SegmentView {
  static constexpr size_t kControl = 256, kSlots = 512, kSlotBytes = 256, kData = 4096;
  static constexpr size_t kPayload = 64;
  pid_t pid = -1;
  Mapping map;
  size_t ring = 0;               // bytes of each ring's data area
  static size_t bytes();         // the segment's size for these runs
  static size_t record_bytes();  // one record: [u32 len][u32][32-byte frame header][payload]
  uintptr_t head(int r) const { return map.start + kControl + 128 * r; }
  uintptr_t tail(int r) const { return head(r) + 64; }
  // Slot i: 0 ring 0 data, 1 ring 0 space, 2 ring 1 data, 3 ring 1 space.
  uintptr_t slot(int i) const { return map.start + kSlots + kSlotBytes * i; }
  uintptr_t data(int r) const { return map.start + kData + ring * r; }
  uint64_t load(uintptr_t a) const { return peek_as<uint64_t>(pid, a).value_or(0); }
  bool store(uintptr_t a, uint64_t v) const { return poke(pid, a, &v, sizeof v); }
  bool store32(uintptr_t a, uint32_t v) const { return poke(pid, a, &v, sizeof v); }
};
// The segment `backend` maps in `harness`, waiting up to `timeout_s` for it.
std::optional<SegmentView> find_view(pid_t harness, const std::string& backend,
                                     const std::string& mmap_dir, double timeout_s);

// Offsets in a record of the frame header's fields.
inline constexpr size_t kRecLen = 0, kRecSeq = 8, kRecPayloadBytes = 16, kRecFlags = 20;
// Publishes a copy of ring r's last record, passed through `edit` (given the record's bytes),
// as its next record. Needs the ring's producer frozen and its consumer caught up; false (and
// nothing written) when the ring is not in that state now, or the record would wrap.
bool forge_record(const SegmentView& v, int r,
                  const std::function<void(std::vector<std::byte>&)>& edit);
template <typename T>
void put(std::vector<std::byte>& rec, size_t off, T value) {
  std::memcpy(rec.data() + off, &value, sizeof value);
}
template <typename T>
T get(const std::vector<std::byte>& rec, size_t off) {
  T v{};
  std::memcpy(&v, rec.data() + off, sizeof v);
  return v;
}

enum class Freeze { kNone, kHarness, kPeer };

struct Scribble {
  std::string name;
  std::function<bool(const SegmentView&)> act;  // the write; false: not now (retried)
  Freeze freeze = Freeze::kNone;                // who is frozen while `act` runs
  const char* workload = "pingpong";
  std::vector<std::string> words = {"corrupt"};  // the message must name one
  // The channel may survive the write (a wait primitive's word, a value nobody reads again):
  // then the run must finish normally (exit 0, every message verified); if it fails instead,
  // it must name corruption all the same.
  bool survivable = false;
  // Done while the first peer is held before its exec (it has not opened the channel yet).
  bool at_startup = false;
};

// Runs `s` against a pingpong (or s.workload) run of backend/sync, judging the outcome with
// gtest expectations named after the case.
void run_scribble(const std::string& backend, const std::string& sync, const Scribble& s);

}  // namespace ipcb::test::fault
