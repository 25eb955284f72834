// Reference loops for the physical floors (see floors.h). Each is the least a transfer can do:
// no framing, no checks, no histogram, one flag per direction on its own cache line.
#include "harness/run/floors.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "harness/run/floors_handoff.h"
#include "harness/run/pace_windows.h"
#include "harness/sys/cpu_relax.h"
#include "harness/sys/sys.h"
#include "harness/sys/sys_sync.h"
#include "harness/transport/frame.h"
#include "harness/transport/slot_ring.h"

namespace ipcb {
namespace {

constexpr uint64_t kStop = UINT64_MAX;

struct alignas(64) Line {
  std::atomic<uint64_t> v{0};
};
static_assert(sizeof(Line) == 64, "a flag alone on its cache line");

// A buffer of `n` bytes on a 64-byte boundary, filled with a pattern (so reads are real).
struct Buffer {
  explicit Buffer(size_t n) : raw(new std::byte[n + 64]) {
    data = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(raw.get()) + 63) & ~63ULL);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<std::byte>(i * 131 + 7);
  }
  std::unique_ptr<std::byte[]> raw;
  std::byte* data;
};

// Reads every byte (the receiver's least work in place); the result is kept so it is not elided.
uint64_t fold(const std::byte* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    acc += w;
  }
  for (; i < n; ++i) acc += static_cast<uint64_t>(p[i]);
  return acc;
}

// Polls until `line` holds `want` (or kStop); on one CPU it yields, as a spin waiter must.
bool wait_for(const Line& line, uint64_t want, bool yield) {
  for (;;) {
    uint64_t v = line.v.load(std::memory_order_acquire);
    if (v == want) return true;
    if (v == kStop) return false;
    if (yield) {
      sys::yield_cpu();
    } else {
      cpu_relax();
    }
  }
}

// Runs `a` and `b` on two threads pinned like the run's two sides; false if a thread could not
// be made (the floors are then absent, never zero).
bool run_pair(const Floors& f, const std::function<void()>& a, const std::function<void()>& b) {
  auto pinned = [](int cpu, const std::function<void()>& fn) {
    return [cpu, &fn] {
      if (cpu >= 0) (void)sys::pin_to_cpu(0, cpu);
      fn();
    };
  };
  try {
    std::thread tb(pinned(f.cpu_b, b));
    std::thread ta(pinned(f.cpu_a, a));
    ta.join();
    tb.join();
  } catch (const std::system_error&) {
    return false;
  }
  return true;
}

// The median of per-window values: what a result's p50 is compared with. A run's windows see
// the same interruptions the benchmark does (a timer tick, a vCPU preempted by the host), and the
// median leaves them out as the benchmark's p50 does; the best window would be a lucky outlier.
double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

bool same_cpu(const Floors& f) {
  return f.cpu_a >= 0 && f.cpu_a == f.cpu_b;
}

// The timing side of a reference ping-pong: `round()` (one round trip) in windows of
// `per_window`, each window's one-way time (half its round trips' mean), until `budget_ns` has
// passed and at least `min_windows` were timed (or 65536 were). Returns their median.
template <typename Round>
double median_round_trip(uint64_t per_window, uint64_t budget_ns, size_t min_windows,
                         Round&& round) {
  std::vector<double> windows;
  windows.reserve(1 << 16);
  const uint64_t start = sys::now_ns();
  for (;;) {
    const uint64_t t0 = sys::now_ns();
    for (uint64_t k = 0; k < per_window; ++k) round();
    const uint64_t t1 = sys::now_ns();
    windows.push_back(static_cast<double>(t1 - t0) / static_cast<double>(2 * per_window));
    if ((t1 - start >= budget_ns && windows.size() >= min_windows) ||
        windows.size() == windows.capacity()) {
      break;
    }
  }
  return median_of(std::move(windows));
}

// Round trips per timed window of a reference ping-pong of `n` payload bytes: 64 for small
// payloads, one for 256 KiB and more.
uint64_t round_trips_per_window(size_t n) {
  return std::clamp<uint64_t>((256u << 10) / std::max<size_t>(n, 1), 1, 64);
}

// One-way time of a ping-pong through one line (both directions) or two (one each way): the
// median over windows of 64 round trips, for about `budget_ns`.
double line_pingpong(Floors& f, bool two_lines, uint64_t budget_ns) {
  Line l1, l2;
  Line& back = two_lines ? l2 : l1;
  const bool yield = same_cpu(f);
  double one_way = 0;
  auto a = [&] {
    uint64_t v = 0;
    one_way = median_round_trip(64, budget_ns, 1, [&] {
      l1.v.store(v + 1, std::memory_order_release);
      wait_for(back, v + 2, yield);
      v += 2;
    });
    l1.v.store(kStop, std::memory_order_release);
  };
  auto b = [&] {
    for (uint64_t v = 1;; v += 2) {
      if (!wait_for(l1, v, yield)) return;
      back.v.store(v + 1, std::memory_order_release);
    }
  };
  if (!run_pair(f, a, b)) return 0;
  return one_way;
}

// Reads every byte of `from` the fastest way this library knows, as --verify full does: compared
// with the sender's source, or above PayloadSource::kGenerateAbove with generated words (cheaper
// than reading a stored copy), so no receiver that checks them all can be faster.
void read_all(const std::byte* from, const std::byte* expect, size_t n) {
  bool same = n > PayloadSource::kGenerateAbove
                  ? copy_compare_words(nullptr, from, PayloadSource::kBase, PayloadSource::kStep, n)
                  : std::memcmp(from, expect, n) == 0;
  asm volatile("" : : "r"(same));  // the read is not elided
}

// What a reference sender puts into shared memory: a copy of its source or, in place, the payload
// built there as ipcbench's in-place sender builds it (PayloadSource::write_at).
void write_in(std::byte* dst, const std::byte* src, size_t n, bool inplace) {
  if (inplace && n > PayloadSource::kGenerateAbove) {
    write_words(dst, PayloadSource::kBase, PayloadSource::kStep, n);
  } else {
    copy_bytes(dst, src, n);
  }
}

// One-way time of a reference ping-pong of `n` payload bytes: the sender copies them into a
// shared buffer (in place: builds them there, write_in) and raises a flag on its own line; the
// receiver copies them out before answering, or in place echoes them straight from where they
// arrived (as ipcbench's peer does), and the first side reads them all. The median over windows of
// a few round trips (64 for small payloads, one for 1 MiB), for about `budget_ns`.
double payload_pingpong(Floors& f, size_t n, bool inplace, uint64_t budget_ns) {
  // As many buffers per direction as a ping-pong's ring has slots (SlotRing::slots_for), used in
  // turn: how long ago the other CPU read the one a sender writes changes what that write costs
  // (with two buffers, ipcbench's 64 KiB in-place ping-pong through its 4-slot rings was 3-8%
  // faster than this reference on a 2-vCPU AMD EPYC guest).
  const size_t depth = SlotRing::slots_for(sizeof(FrameHeader) + n, /*deep=*/false);
  std::vector<Buffer> ab_bufs, ba_bufs;
  for (size_t i = 0; i < depth; ++i) {
    ab_bufs.emplace_back(n);
    ba_bufs.emplace_back(n);
  }
  Buffer src_a(n), src_b(n), dst_a(n), dst_b(n);
  auto ab = [&](uint64_t v) { return ab_bufs[v % depth].data; };
  auto ba = [&](uint64_t v) { return ba_bufs[v % depth].data; };
  Line fab, fba;
  const bool yield = same_cpu(f);
  double one_way = 0;
  auto a = [&] {
    uint64_t v = 0;
    one_way = median_round_trip(round_trips_per_window(n), budget_ns, 5, [&] {
      ++v;
      write_in(ab(v), src_a.data, n, inplace);
      fab.v.store(v, std::memory_order_release);
      wait_for(fba, v, yield);
      if (inplace) {
        read_all(ba(v), src_a.data, n);
      } else {
        copy_bytes(dst_a.data, ba(v), n);
        asm volatile("" : : "r"(dst_a.data) : "memory");
      }
    });
    fab.v.store(kStop, std::memory_order_release);
  };
  auto b = [&] {
    for (uint64_t v = 1;; ++v) {
      if (!wait_for(fab, v, yield)) return;
      if (inplace) {
        copy_bytes(ba(v), ab(v), n);  // the echo: one pass reads it and writes it back
      } else {
        copy_bytes(dst_b.data, ab(v), n);
        asm volatile("" : : "r"(dst_b.data) : "memory");
        copy_bytes(ba(v), src_b.data, n);
      }
      fba.v.store(v, std::memory_order_release);
    }
  };
  if (!run_pair(f, a, b)) return 0;
  return one_way;
}

// One-way time of ipcbench's slot protocol alone (see SizeFloors::pingpong_slot_ns): each side
// copies a frame of header + `n` bytes into the next slot of its ring (as many slots and laid
// out as a ping-pong's SlotRing) and stores the stamp; the other polls that stamp, copies the
// frame out and (the echo) into its own ring. The median over windows, as payload_pingpong.
double slot_pingpong(Floors& f, size_t n, uint64_t budget_ns) {
  const size_t msg = sizeof(FrameHeader) + n, slot = SlotRing::slot_bytes_for(msg);
  const size_t stamp_at = SlotRing::stamp_offset_for(msg), at = SlotRing::message_offset_for(msg);
  const size_t slots = SlotRing::slots_for(msg, /*deep=*/false);
  Buffer ring_ab(slot * slots), ring_ba(slot * slots), src(msg), rx_a(msg), rx_b(msg);
  std::memset(ring_ab.data, 0, slot * slots);
  std::memset(ring_ba.data, 0, slot * slots);
  std::atomic<bool> stop{false};
  const bool yield = same_cpu(f);
  auto stamp = [&](std::byte* ring, uint64_t pos) {
    return std::atomic_ref<uint64_t>(
        *reinterpret_cast<uint64_t*>(ring + (pos % slots) * slot + stamp_at));
  };
  auto await = [&](std::byte* ring, uint64_t pos) {
    while (stamp(ring, pos).load(std::memory_order_acquire) != pos + 1) {
      if (stop.load(std::memory_order_relaxed)) return false;
      yield ? sys::yield_cpu() : cpu_relax();
    }
    return true;
  };
  double one_way = 0;
  auto a = [&] {
    uint64_t pos = 0;
    one_way = median_round_trip(round_trips_per_window(n), budget_ns, 5, [&] {
      copy_bytes(ring_ab.data + (pos % slots) * slot + at, src.data, msg);
      stamp(ring_ab.data, pos).store(pos + 1, std::memory_order_release);
      await(ring_ba.data, pos);
      copy_bytes(rx_a.data, ring_ba.data + (pos % slots) * slot + at, msg);
      asm volatile("" : : "r"(rx_a.data) : "memory");
      ++pos;
    });
    stop.store(true, std::memory_order_relaxed);
  };
  auto b = [&] {
    for (uint64_t pos = 0;; ++pos) {
      if (!await(ring_ab.data, pos)) return;
      copy_bytes(rx_b.data, ring_ab.data + (pos % slots) * slot + at, msg);
      copy_bytes(ring_ba.data + (pos % slots) * slot + at, rx_b.data, msg);
      stamp(ring_ba.data, pos).store(pos + 1, std::memory_order_release);
    }
  };
  if (!run_pair(f, a, b)) return 0;
  return one_way;
}

// Throughput of a reference stream of `n`-byte messages through a ring of as many slots as
// ipcbench's stream ring has (SlotRing::slots_for): a copy in, then a copy out, or (in place) the
// message built in its slot (write_in), then a read of every byte (read_all). A consumer that has
// read every message it saw written lets the producer get a batch ahead before it reads on, as
// ipcbench's does (Endpoint::recv_batched). The consumer times windows of about 1 MiB (at least one
// message), for about `budget_ns` and at least five windows; the result is their steady_pace.
double stream_ceiling(Floors& f, size_t n, bool inplace, uint64_t budget_ns) {
  const size_t slot = (n + 63) & ~size_t{63};
  const size_t msg = sizeof(FrameHeader) + n;
  const size_t slots = SlotRing::slots_for(msg, /*deep=*/true), mask = slots - 1;
  const uint64_t per_window = std::max<uint64_t>(1, (1u << 20) / std::max<size_t>(n, 1));
  // As many messages as ipcbench's reader waits for (SlotRing::batch_messages).
  const uint64_t batch = SlotRing::batch_for(slots, SlotRing::slot_bytes_for(msg));
  Buffer ring(slot * slots), src(n), dst(n);
  Line head, tail;
  const bool yield = same_cpu(f);
  std::atomic<bool> stop{false};
  std::vector<double> windows;
  windows.reserve(1 << 16);
  auto producer = [&] {
    uint64_t h = 0, cached_tail = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      while (h - cached_tail >= slots && !stop.load(std::memory_order_relaxed)) {
        cached_tail = tail.v.load(std::memory_order_acquire);
        if (h - cached_tail >= slots) yield ? sys::yield_cpu() : cpu_relax();
      }
      // Stopped while the ring was full: that slot may not be free, so write nothing more.
      if (stop.load(std::memory_order_acquire)) break;
      write_in(ring.data + (h & mask) * slot, src.data, n, inplace);
      head.v.store(++h, std::memory_order_release);
    }
  };
  auto consumer = [&] {
    uint64_t t = 0, cached_head = 0;
    const uint64_t start = sys::now_ns();
    uint64_t w0 = start;
    for (;;) {
      if (cached_head == t) {  // caught up: wait for a batch (or the timeout)
        const uint64_t until = sys::now_ns() + SlotRing::kBatchTimeoutNs;
        while (head.v.load(std::memory_order_acquire) < t + batch && sys::now_ns() < until) {
          sys::yield_cpu();
        }
      }
      while (cached_head == t) {
        cached_head = head.v.load(std::memory_order_acquire);
        if (cached_head == t) yield ? sys::yield_cpu() : cpu_relax();
      }
      const std::byte* p = ring.data + (t & mask) * slot;
      if (inplace) {
        read_all(p, src.data, n);
      } else {
        copy_bytes(dst.data, p, n);
        asm volatile("" : : "r"(dst.data) : "memory");
      }
      tail.v.store(++t, std::memory_order_release);
      if (t % per_window == 0) {
        const uint64_t w1 = sys::now_ns();
        windows.push_back(static_cast<double>(per_window * n) * 1e9 /
                          static_cast<double>(std::max<uint64_t>(1, w1 - w0)));
        w0 = w1;
        if ((w1 - start >= budget_ns && windows.size() >= 5) ||
            windows.size() == windows.capacity()) {
          stop.store(true, std::memory_order_release);
          return;
        }
      }
    }
  };
  if (!run_pair(f, producer, consumer)) return 0;
  return steady_pace(windows);
}

double memcpy_rate(size_t n, uint64_t budget_ns) {
  Buffer src(n), dst(n);
  const uint64_t per_read = std::max<uint64_t>(1, 65536 / n);  // copies per clock read
  uint64_t t0 = sys::now_ns(), copies = 0, elapsed = 0;
  do {
    for (uint64_t k = 0; k < per_read; ++k) {
      copy_bytes(dst.data, src.data, n);
      asm volatile("" : : "r"(dst.data) : "memory");  // every copy happens
    }
    copies += per_read;
    elapsed = sys::now_ns() - t0;
  } while (elapsed < budget_ns || copies < 3);
  // Keep the copies from being elided.
  if (fold(dst.data, std::min<size_t>(n, 64)) == 42) std::memcpy(src.data, dst.data, 1);
  return static_cast<double>(copies * n) * 1e9 / static_cast<double>(elapsed);
}

}  // namespace

double steady_pace(const std::vector<double>& windows) {
  const double slow = median_of(windows) * PaceWindows::kSlowPace;
  double kept = 0, time = 0;  // time in units of one window's bytes
  for (size_t i = windows.size() / 10; i < windows.size(); ++i) {
    if (windows[i] < slow) continue;
    kept += 1;
    time += 1 / windows[i];
  }
  return time > 0 ? kept / time : 0;
}

Floors measure_floors(const Placement& placement, const std::vector<size_t>& sizes, double budget_s,
                      FloorParts parts) {
  Floors f;
  f.placement = placement.name;
  f.cpu_a = placement.cpu_self;
  f.cpu_b = placement.cpu_peer;
  const uint64_t t0 = sys::now_ns();
  // The two hand-offs take a fixed time (floors_handoff.h), out of the budget while it leaves
  // at least half for the rest. Shares of the rest: lines 1, and per size memcpy 0.7,
  // ping-pongs 3.5, streams 3.5.
  if (parts.handoffs) {
    const double handoffs_s = 2e-9 * static_cast<double>(kHandoffWarmUpNs + kHandoffMinMeasureNs);
    budget_s = std::max(budget_s - handoffs_s, budget_s / 2);
  }
  const double n_sizes = static_cast<double>(sizes.size());
  const double shares = (parts.lines ? 1.0 : 0.0) +
                        n_sizes * (0.7 + (parts.pingpong ? 3.5 : 0.0) + (parts.stream ? 3.5 : 0.0));
  const double unit = shares > 0 ? budget_s * 1e9 / shares : 0;  // ns per share
  auto ns = [&](double share) { return static_cast<uint64_t>(share * unit); };
  f.clock_ns = static_cast<double>(timer_cost_ns());
  if (parts.lines) {
    f.line1_ns = line_pingpong(f, false, ns(0.5));
    f.line2_ns = line_pingpong(f, true, ns(0.5));
    if (f.line2_ns == 0) f.error = "the reference threads could not be started";
  }
  if (parts.handoffs) {
    Handoff futex = futex_handoff_floor(f.cpu_a, f.cpu_b, 0);
    Handoff pipe = pipe_handoff_floor(f.cpu_a, f.cpu_b, 0);
    f.futex_ns = futex.median;
    f.futex_fast_ns = futex.fast;
    f.pipe_ns = pipe.median;
    f.pipe_fast_ns = pipe.fast;
  }
  for (size_t n : sizes) {
    SizeFloors s;
    s.bytes = n;
    s.memcpy_bytes_per_second = memcpy_rate(n, ns(0.7));
    if (parts.pingpong) {
      s.pingpong_copy_ns = payload_pingpong(f, n, false, ns(1.4));
      s.pingpong_inplace_ns = payload_pingpong(f, n, true, ns(1.4));
      s.pingpong_slot_ns = slot_pingpong(f, n, ns(0.7));
    }
    if (parts.stream) {
      s.stream_copy_bytes_per_second = stream_ceiling(f, n, false, ns(1.75));
      s.stream_inplace_bytes_per_second = stream_ceiling(f, n, true, ns(1.75));
      if (s.stream_copy_bytes_per_second == 0 && f.error.empty()) {
        f.error = "the reference threads could not be started";
      }
    }
    f.sizes.push_back(s);
  }
  f.seconds = static_cast<double>(sys::now_ns() - t0) * 1e-9;
  if (auto x = test_floor_scale(); x && *x != 1) scale_floors(f, *x);
  return f;
}

Result<double> test_floor_scale() {
  const char* scale = std::getenv("IPCBENCH_TEST_FLOOR_SCALE");
  if (scale == nullptr) return 1.0;
  char* end = nullptr;
  const double x = std::strtod(scale, &end);
  if (end == scale || *end != '\0' || !std::isfinite(x) || x <= 0) {
    return plain_error(std::string("IPCBENCH_TEST_FLOOR_SCALE '") + scale + "'",
                       "expected a number above 0 (how many times slower the floors' machine is)");
  }
  return x;
}

}  // namespace ipcb
