// The shared-memory channel (see shm_channel.h).
#include "backends/shm_channel.h"

#include <cstring>
#include <string_view>

#include "backends/sync/waiter.h"
#include "harness/transport/slot_ring.h"

namespace ipcb {
namespace {

constexpr uint64_t kMagic = 0x69706362656e6368ULL;  // "ipcbench"
constexpr uint32_t kVersion = 2;
constexpr size_t kControlOffset = 256;
constexpr size_t kSlotOffset = 512;
constexpr size_t kDataOffset = 4096;

struct SegmentHeader {
  uint64_t magic;
  uint32_t version;
  uint32_t reserved;
  uint64_t slots;  // per ring
  uint64_t message_bytes;
  char sync[32];
};
static_assert(sizeof(SegmentHeader) <= kControlOffset, "header must fit before the controls");
static_assert(kSlotOffset + 4 * Waiter::kSlotBytes <= kDataOffset, "slots must fit before data");
static_assert(kControlOffset % kCacheLine == 0 && kSlotOffset % kCacheLine == 0,
              "shared atomics must start on a cache line");
static_assert(kControlOffset + 2 * sizeof(SlotCredit) <= kSlotOffset, "credits before the slots");

size_t ring_slots(const ChannelConfig& c) {
  return SlotRing::slots_for(c.message_bytes, c.deep);
}
size_t ring_bytes(const ChannelConfig& c) {
  return ring_slots(c) * SlotRing::slot_bytes_for(c.message_bytes);
}

// One direction: a ring plus the waiters for "has data" and "has space".
struct Direction {
  SlotRing ring;
  std::unique_ptr<Waiter> data;
  std::unique_ptr<Waiter> space;
};

class ShmChannel : public SlotChannel {
 public:
  ShmChannel(std::unique_ptr<Segment> seg, const ChannelConfig& c, Direction tx, Direction rx)
      : seg_(std::move(seg)), abort_(c.abort), tx_(std::move(tx)), rx_(std::move(rx)) {}

  std::string wait_mode() const override { return tx_.data->wait_mode(); }
  size_t ring_bytes() const override { return tx_.ring.slots() * tx_.ring.slot_bytes(); }

  Result<std::span<std::byte>> reserve_send() override {
    return attempt_or_wait(
        *tx_.space, *abort_, "send", [&] { return tx_.ring.try_reserve(); },
        [&] { return tx_.ring.writable(); });
  }

  void commit_send() override {
    tx_.ring.commit();
    tx_.data->notify();
  }

  Result<std::span<const std::byte>> peek_recv() override {
    return attempt_or_wait(
        *rx_.data, *abort_, "recv", [&] { return rx_.ring.try_peek(); },
        [&] { return rx_.ring.readable(); });
  }

  void release_recv() override {
    // The producer can only be waiting for space when the credit it needs is published.
    if (rx_.ring.release()) rx_.space->notify();
  }

  PollingRings polling_rings() override {
    for (const Waiter* w : {tx_.data.get(), tx_.space.get(), rx_.data.get(), rx_.space.get()}) {
      if (!w->polls()) return {};
    }
    return {&tx_.ring, &rx_.ring, std::string_view(tx_.data->wait_mode()) == "spin"};
  }

  std::vector<int> inherited_fds() const override {
    std::vector<int> fds;
    for (const Waiter* w : {tx_.data.get(), tx_.space.get(), rx_.data.get(), rx_.space.get()}) {
      auto more = w->inherited_fds();
      fds.insert(fds.end(), more.begin(), more.end());
    }
    auto seg = seg_->inherited_fds();
    fds.insert(fds.end(), seg.begin(), seg.end());
    return fds;
  }

  std::string object() const override { return seg_->object(); }
  Status peer_connected() override { return seg_->remove_name(); }

 private:
  std::unique_ptr<Segment> seg_;  // declared first, destroyed last: rings and waiters point into it
  const std::atomic<bool>* abort_;
  Direction tx_;
  Direction rx_;
};

Result<std::pair<Direction, Direction>> directions(std::span<std::byte> mem, const ChannelConfig& c,
                                                   bool creator) {
  const WaiterInfo* w = find_waiter(c.sync);
  if (w == nullptr) return plain_error("sync", "unknown waiter '" + c.sync + "'");
  const size_t bytes = ring_bytes(c);
  auto* credits = reinterpret_cast<SlotCredit*>(mem.data() + kControlOffset);
  auto slot = [&](int ring, int which) {
    return mem.data() + kSlotOffset + static_cast<size_t>(2 * ring + which) * Waiter::kSlotBytes;
  };
  auto make = [&](int ring) -> Result<Direction> {
    IPCB_TRY(auto data, w->make(slot(ring, 0), creator, c));
    IPCB_TRY(auto space, w->make(slot(ring, 1), creator, c));
    SlotRing r(&credits[ring], mem.data() + kDataOffset + static_cast<size_t>(ring) * bytes,
               ring_slots(c), c.message_bytes);
    return Direction{std::move(r), std::move(data), std::move(space)};
  };
  IPCB_TRY(Direction d0, make(0));
  IPCB_TRY(Direction d1, make(1));
  // Ring 0 carries owner -> peer; the owner sends on it and the peer receives.
  if (creator) return std::pair<Direction, Direction>(std::move(d0), std::move(d1));
  return std::pair<Direction, Direction>(std::move(d1), std::move(d0));
}

}  // namespace

size_t shm_channel_bytes(const ChannelConfig& c) {
  return kDataOffset + 2 * ring_bytes(c);
}

std::vector<std::string> shm_syncs() {
  std::vector<std::string> out;
  for (const auto& w : waiters()) out.emplace_back(w.name);
  return out;
}

Result<std::unique_ptr<OwnedChannel>> create_shm_channel(const SegmentKind& kind,
                                                         const ChannelConfig& c) {
  if (c.sync.size() >= sizeof(SegmentHeader::sync)) return plain_error("sync", "name too long");
  IPCB_TRY(auto seg, kind.create(shm_channel_bytes(c)));
  auto mem = seg->bytes();
  // A new segment is all zeros (the kernel's promise for a new object), so every slot's stamp
  // says "not written yet"; only the header part needs setting.
  std::memset(mem.data(), 0, kDataOffset);
  SegmentHeader h{kMagic, kVersion, 0, ring_slots(c), c.message_bytes, {}};
  std::memcpy(h.sync, c.sync.data(), c.sync.size());
  std::memcpy(mem.data(), &h, sizeof h);
  IPCB_TRY(auto dirs, directions(mem, c, /*creator=*/true));
  return std::unique_ptr<OwnedChannel>(
      new ShmChannel(std::move(seg), c, std::move(dirs.first), std::move(dirs.second)));
}

Result<std::unique_ptr<Channel>> open_shm_channel(const SegmentKind& kind, const ChannelConfig& c,
                                                  const std::string& object) {
  IPCB_TRY(auto seg, kind.open(object, shm_channel_bytes(c)));
  auto mem = seg->bytes();
  SegmentHeader h;
  std::memcpy(&h, mem.data(), sizeof h);
  if (h.magic != kMagic || h.version != kVersion || h.slots != ring_slots(c) ||
      h.message_bytes != c.message_bytes ||
      std::strncmp(h.sync, c.sync.c_str(), sizeof h.sync) != 0) {
    return plain_error("open segment " + object,
                       "its header does not match this channel (another program's segment, or "
                       "a different size or sync)");
  }
  IPCB_TRY(auto dirs, directions(mem, c, /*creator=*/false));
  return std::unique_ptr<Channel>(
      new ShmChannel(std::move(seg), c, std::move(dirs.first), std::move(dirs.second)));
}

}  // namespace ipcb
