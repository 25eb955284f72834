// Shared-memory fanout with one write per message (see shm_broadcast.h).
#include "backends/shm_broadcast.h"

#include <cstdio>
#include <cstring>

#include "backends/sync/waiter.h"
#include "harness/transport/broadcast_ring.h"
#include "harness/transport/ring.h"

namespace ipcb {
namespace {

constexpr uint64_t kMagic = 0x69706362626361ULL;  // "ipcbbca"
constexpr uint32_t kVersion = 1;
constexpr size_t kMinBroadcastBytes = 64 * 1024;
constexpr size_t kMinSlots = 3;
constexpr const char* kPrefix = "fanout:";

struct Header {
  uint64_t magic;
  uint32_t version;
  uint32_t readers;
  uint64_t slots;
  uint64_t ring_bytes;
  uint64_t message_bytes;
  char sync[32];
};

size_t align_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

// Where everything lives for `readers` readers and this configuration.
struct Layout {
  size_t readers, slots, slot_bytes, ring_bytes;
  size_t head, tails, ret_controls, waiter_slots, broadcast, rings, total;

  Layout(const ChannelConfig& c, size_t n) : readers(n) {
    slot_bytes = BroadcastRing::slot_bytes_for(c.message_bytes);
    slots = std::max(kMinSlots, kMinBroadcastBytes / slot_bytes);
    ring_bytes = std::max<size_t>(Ring::capacity_for(c.message_bytes, 3), kMinBroadcastBytes);
    head = 256;
    tails = head + kCacheLine;
    ret_controls = align_up(tails + n * kCacheLine, kCacheLine);
    waiter_slots = align_up(ret_controls + n * sizeof(RingControl), Waiter::kSlotBytes);
    broadcast = align_up(waiter_slots + (1 + 3 * n) * Waiter::kSlotBytes, 4096);
    rings = align_up(broadcast + slots * slot_bytes, 4096);
    total = rings + n * ring_bytes;
  }
  // Waiter slot k: 0 = space; 1..n = data[i]; n+1..2n = ret_data[i]; 2n+1..3n = ret_space[i].
  size_t slot(size_t k) const { return waiter_slots + k * Waiter::kSlotBytes; }
};

// What every view of one segment shares: the mapping, the rings and the waiters.
struct Shared {
  std::unique_ptr<Segment> seg;  // first member: destroyed last, everything points into it
  Layout layout;
  std::unique_ptr<BroadcastRing> broadcast;
  std::vector<Ring> ret;
  std::unique_ptr<Waiter> space;
  std::vector<std::unique_ptr<Waiter>> data, ret_data, ret_space;
  size_t connected = 0;

  Shared(std::unique_ptr<Segment> s, const Layout& l) : seg(std::move(s)), layout(l) {}

  // Builds rings and waiters; a reader (`reader` >= 0) builds only what it uses.
  Status build(const ChannelConfig& c, bool creator, int reader) {
    const WaiterInfo* w = find_waiter(c.sync);
    if (w == nullptr) return plain_error("sync", "unknown waiter '" + c.sync + "'");
    std::byte* base = seg->bytes().data();
    auto* pos = reinterpret_cast<BroadcastPosition*>(base + layout.head);
    broadcast = std::make_unique<BroadcastRing>(
        pos, pos + 1, layout.readers, base + layout.broadcast, layout.slots, c.message_bytes);
    auto* controls = reinterpret_cast<RingControl*>(base + layout.ret_controls);
    size_t n = layout.readers;
    auto make = [&](size_t k) { return w->make(base + layout.slot(k), creator, c); };
    IPCB_TRY(space, make(0));
    for (size_t i = 0; i < n; ++i) {
      bool mine = reader < 0 || static_cast<size_t>(reader) == i;
      ret.emplace_back(&controls[i], base + layout.rings + i * layout.ring_bytes, layout.ring_bytes,
                       c.message_bytes);
      if (!mine) {
        data.emplace_back();
        ret_data.emplace_back();
        ret_space.emplace_back();
        continue;
      }
      IPCB_TRY(auto d, make(1 + i));
      IPCB_TRY(auto rd, make(1 + n + i));
      IPCB_TRY(auto rs, make(1 + 2 * n + i));
      data.push_back(std::move(d));
      ret_data.push_back(std::move(rd));
      ret_space.push_back(std::move(rs));
    }
    return ok_status();
  }
};

// One view: the owner's channel to peer `i`, or peer `i`'s channel.
class BroadcastView final : public SlotChannel {
 public:
  BroadcastView(std::shared_ptr<Shared> sh, size_t i, bool owner, const std::atomic<bool>* any,
                const std::atomic<bool>* mine)
      : sh_(std::move(sh)), i_(i), owner_(owner), any_abort_(any), abort_(mine) {}

  std::string wait_mode() const override { return sh_->space->wait_mode(); }
  size_t ring_bytes() const override { return sh_->layout.slots * sh_->layout.slot_bytes; }

  Result<std::span<std::byte>> reserve_send() override {
    if (owner_) {
      if (i_ != 0) return plain_error("send", "only the first fanout channel writes");
      BroadcastRing& b = *sh_->broadcast;
      return attempt_or_wait(
          *sh_->space, *any_abort_, "send", [&] { return b.try_reserve(); },
          [&] { return b.writable(); });
    }
    Ring& r = sh_->ret[i_];
    return attempt_or_wait(
        *sh_->ret_space[i_], *abort_, "send", [&] { return r.try_reserve(r.max_message()); },
        [&] { return r.writable(r.max_message()); });
  }

  void commit_send() override {
    if (owner_) {
      sh_->broadcast->commit();
      for (auto& d : sh_->data) d->notify();
    } else {
      sh_->ret[i_].commit();
      sh_->ret_data[i_]->notify();
    }
  }

  Result<std::span<const std::byte>> peek_recv() override {
    if (!owner_) {
      BroadcastRing& b = *sh_->broadcast;
      return attempt_or_wait(
          *sh_->data[i_], *abort_, "recv", [&] { return b.try_peek(); },
          [&] { return b.readable(); });
    }
    Ring& r = sh_->ret[i_];
    return attempt_or_wait(
        *sh_->ret_data[i_], *abort_, "recv", [&] { return r.try_peek(); },
        [&] { return r.readable(); });
  }

  void release_recv() override {
    if (!owner_) {
      sh_->broadcast->release(i_);
      sh_->space->notify();
    } else {
      sh_->ret[i_].release();
      sh_->ret_space[i_]->notify();
    }
  }

  std::string object() const override {
    return kPrefix + std::to_string(i_) + ":" + std::to_string(sh_->layout.readers) + ":" +
           sh_->seg->object();
  }

  std::vector<int> inherited_fds() const override {
    std::vector<int> fds = sh_->seg->inherited_fds();
    auto add = [&](const std::unique_ptr<Waiter>& w) {
      if (!w) return;
      auto more = w->inherited_fds();
      fds.insert(fds.end(), more.begin(), more.end());
    };
    add(sh_->space);
    add(sh_->data[i_]);
    add(sh_->ret_data[i_]);
    add(sh_->ret_space[i_]);
    return fds;
  }

  // The name goes once every reader has it open.
  Status peer_connected() override {
    if (++sh_->connected < sh_->layout.readers) return ok_status();
    return sh_->seg->remove_name();
  }

 private:
  std::shared_ptr<Shared> sh_;
  size_t i_;
  bool owner_;
  const std::atomic<bool>* any_abort_;
  const std::atomic<bool>* abort_;
};

}  // namespace

bool is_broadcast_object(const std::string& object) {
  return object.rfind(kPrefix, 0) == 0;
}

Result<std::vector<std::unique_ptr<OwnedChannel>>> create_shm_broadcast(
    const SegmentKind& kind, const ChannelConfig& c,
    const std::vector<const std::atomic<bool>*>& view_aborts) {
  size_t n = view_aborts.size();
  if (n == 0) return plain_error("fanout", "needs at least one reader");
  if (c.sync.size() >= sizeof(Header::sync)) return plain_error("sync", "name too long");
  Layout layout(c, n);
  IPCB_TRY(auto seg, kind.create(layout.total));
  std::memset(seg->bytes().data(), 0, layout.broadcast);
  Header h{kMagic,          kVersion, static_cast<uint32_t>(n), layout.slots, layout.ring_bytes,
           c.message_bytes, {}};
  std::memcpy(h.sync, c.sync.data(), c.sync.size());
  std::memcpy(seg->bytes().data(), &h, sizeof h);
  auto sh = std::make_shared<Shared>(std::move(seg), layout);
  IPCB_TRY_STATUS(sh->build(c, /*creator=*/true, /*reader=*/-1));
  std::vector<std::unique_ptr<OwnedChannel>> views;
  for (size_t i = 0; i < n; ++i) {
    views.push_back(std::make_unique<BroadcastView>(sh, i, true, c.abort, view_aborts[i]));
  }
  return views;
}

Result<std::unique_ptr<Channel>> open_shm_broadcast(const SegmentKind& kind, const ChannelConfig& c,
                                                    const std::string& object) {
  unsigned i = 0, n = 0;
  int used = 0;
  if (std::sscanf(object.c_str(), "fanout:%u:%u:%n", &i, &n, &used) != 2 || used == 0 || n == 0 ||
      i >= n || n > 1024) {
    return plain_error("fanout object '" + object + "'", "expected fanout:<i>:<n>:<segment>");
  }
  Layout layout(c, n);
  IPCB_TRY(auto seg, kind.open(object.substr(static_cast<size_t>(used)), layout.total));
  Header h;
  std::memcpy(&h, seg->bytes().data(), sizeof h);
  if (h.magic != kMagic || h.version != kVersion || h.readers != n || h.slots != layout.slots ||
      h.ring_bytes != layout.ring_bytes || h.message_bytes != c.message_bytes ||
      std::strncmp(h.sync, c.sync.c_str(), sizeof h.sync) != 0) {
    return plain_error("open segment " + object,
                       "its header does not match this fanout (another program's segment, or a "
                       "different size, reader count or sync)");
  }
  auto sh = std::make_shared<Shared>(std::move(seg), layout);
  IPCB_TRY_STATUS(sh->build(c, /*creator=*/false, static_cast<int>(i)));
  return std::unique_ptr<Channel>(new BroadcastView(sh, i, false, c.abort, c.abort));
}

}  // namespace ipcb
