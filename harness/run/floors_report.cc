// The floors as results read them (see floors.h): JSON for bench.json, which floors bound
// which benchmark, and a floor measured again.
#include <algorithm>

#include "harness/run/floors.h"

namespace ipcb {

// A size's floors in bench.json: every field under its own name.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SizeFloors, bytes, memcpy_bytes_per_second, pingpong_copy_ns,
                                   pingpong_inplace_ns, pingpong_slot_ns,
                                   stream_copy_bytes_per_second, stream_inplace_bytes_per_second)

nlohmann::json floors_to_json(const Floors& f) {
  nlohmann::json sizes = nlohmann::json::array();
  for (const auto& s : f.sizes) sizes.push_back(s);
  nlohmann::json j = {{"placement", f.placement},
                      {"cpu_a", f.cpu_a},
                      {"cpu_b", f.cpu_b},
                      {"clock_ns", f.clock_ns},
                      {"line1_ns", f.line1_ns},
                      {"line2_ns", f.line2_ns},
                      {"futex_handoff_ns", f.futex_ns},
                      {"pipe_handoff_ns", f.pipe_ns},
                      {"futex_handoff_fast_ns", f.futex_fast_ns},
                      {"pipe_handoff_fast_ns", f.pipe_fast_ns},
                      {"sizes", sizes},
                      {"seconds", f.seconds}};
  if (!f.error.empty()) j["error"] = f.error;
  if (f.test_scale != 1) j["test_scale"] = f.test_scale;
  return j;
}

void scale_floors(Floors& f, double factor) {
  for (double* ns :
       {&f.line1_ns, &f.line2_ns, &f.futex_ns, &f.pipe_ns, &f.futex_fast_ns, &f.pipe_fast_ns}) {
    *ns *= factor;
  }
  for (SizeFloors& s : f.sizes) {
    s.pingpong_copy_ns *= factor;
    s.pingpong_inplace_ns *= factor;
    s.pingpong_slot_ns *= factor;
    s.memcpy_bytes_per_second /= factor;
    s.stream_copy_bytes_per_second /= factor;
    s.stream_inplace_bytes_per_second /= factor;
  }
  f.test_scale *= factor;
}

FloorParts floor_parts_for(const std::string& workload, const std::string& wait_mode) {
  FloorParts p{false, false, false, false};
  if (workload == "pingpong") {
    p.lines = p.pingpong = true;
    p.handoffs = wait_mode == "block";
  } else if (workload == "stream") {
    p.stream = true;
  }
  return p;
}

namespace {
template <typename Sizes>
auto* find_size(Sizes& sizes, size_t bytes) {
  auto s = std::find_if(sizes.begin(), sizes.end(),
                        [&](const SizeFloors& z) { return z.bytes == bytes; });
  return s == sizes.end() ? nullptr : &*s;
}
}  // namespace

const SizeFloors* size_floors(const Floors& f, size_t bytes) {
  return find_size(f.sizes, bytes);
}

namespace {
// Merges each size `fresh` has into `into`: `merge(kept, fresh)` where `into` has it, else a copy.
template <typename Merge>
void merge_sizes(Floors& into, const Floors& fresh, Merge merge) {
  for (const SizeFloors& f : fresh.sizes) {
    if (SizeFloors* kept = find_size(into.sizes, f.bytes)) {
      merge(*kept, f);
    } else {
      into.sizes.push_back(f);
    }
  }
}

void keep_lower(double& kept, double fresh) {
  if (fresh > 0 && (kept <= 0 || fresh < kept)) kept = fresh;
}
void keep_higher(double& kept, double fresh) {
  if (fresh > kept) kept = fresh;
}
}  // namespace

void keep_fastest(Floors& fastest, const Floors& fresh) {
  if (!fresh.error.empty()) return;
  keep_lower(fastest.line1_ns, fresh.line1_ns);
  keep_lower(fastest.line2_ns, fresh.line2_ns);
  keep_lower(fastest.futex_ns, fresh.futex_ns);
  keep_lower(fastest.futex_fast_ns, fresh.futex_fast_ns);
  keep_lower(fastest.pipe_ns, fresh.pipe_ns);
  keep_lower(fastest.pipe_fast_ns, fresh.pipe_fast_ns);
  merge_sizes(fastest, fresh, [](SizeFloors& s, const SizeFloors& f) {
    keep_higher(s.memcpy_bytes_per_second, f.memcpy_bytes_per_second);
    keep_lower(s.pingpong_copy_ns, f.pingpong_copy_ns);
    keep_lower(s.pingpong_inplace_ns, f.pingpong_inplace_ns);
    keep_lower(s.pingpong_slot_ns, f.pingpong_slot_ns);
    keep_higher(s.stream_copy_bytes_per_second, f.stream_copy_bytes_per_second);
    keep_higher(s.stream_inplace_bytes_per_second, f.stream_inplace_bytes_per_second);
  });
}

void update_floors(Floors& into, const Floors& fresh, FloorParts parts) {
  if (parts.lines) {
    into.line1_ns = fresh.line1_ns;
    into.line2_ns = fresh.line2_ns;
  }
  if (parts.handoffs) {
    into.futex_ns = fresh.futex_ns;
    into.futex_fast_ns = fresh.futex_fast_ns;
    into.pipe_ns = fresh.pipe_ns;
    into.pipe_fast_ns = fresh.pipe_fast_ns;
  }
  merge_sizes(into, fresh, [&](SizeFloors& s, const SizeFloors& f) {
    s.memcpy_bytes_per_second = f.memcpy_bytes_per_second;
    if (parts.pingpong) {
      s.pingpong_copy_ns = f.pingpong_copy_ns;
      s.pingpong_inplace_ns = f.pingpong_inplace_ns;
      s.pingpong_slot_ns = f.pingpong_slot_ns;
    }
    if (parts.stream) {
      s.stream_copy_bytes_per_second = f.stream_copy_bytes_per_second;
      s.stream_inplace_bytes_per_second = f.stream_inplace_bytes_per_second;
    }
  });
}

Bound bound_for(const Floors& f, const std::string& workload, const std::string& backend_kind,
                const std::string& wait_mode, bool inplace, size_t payload_bytes) {
  Bound b;
  if (!f.error.empty()) return b;
  const SizeFloors* s = size_floors(f, payload_bytes);
  if (s == nullptr) return b;
  const char* mode = inplace ? "inplace" : "copy";
  if (workload == "pingpong") {
    double passes = inplace ? s->pingpong_inplace_ns : s->pingpong_copy_ns;
    if (passes <= 0) return b;
    b.known = true;
    b.latency = true;
    // The reference raises its flag on a line of its own, so each hand-off moves the flag's
    // line and then the data's. A slot whose stamp shares the first line with the message moves
    // only the data: the polling floor is the reference less one line hand-off (line2), and
    // never below that hand-off itself.
    const double polling = f.line2_ns > 0 ? std::max(f.line2_ns, passes - f.line2_ns) : passes;
    // Impossible only below the fastest hand-off this machine showed: a line that both sides
    // write (line1) can move faster than two lines each written by one side (on a 2-vCPU AMD
    // EPYC guest, 31-42 ns against 49-59 in the same runs), and 8 and 64 B ping-pongs through
    // ipcbench's two rings read 36-44 ns at times, some between two-line floors of 48-58 ns
    // measured right before and after them, and 0.87-1.23x the one-line hand-off measured at
    // their run's start: faster than two lines, not faster than one beyond its noise.
    const double one_line = f.line1_ns > 0 && f.line2_ns > 0 && f.line1_ns < f.line2_ns
                                ? std::max(f.line1_ns, passes - f.line2_ns)
                                : polling;
    if (wait_mode == "block") {
      // A blocking hand-off, plus what the copies add beyond a line hand-off. Impossible only
      // below the polling floor: a waiter that finds its message before it sleeps (the other
      // vCPU had not gone idle yet, or the host still polls it) pays no wake-up at all; the raw
      // futex ping-pong has round trips of 0.5 us among its 70 us ones on a 2-vCPU AMD EPYC
      // guest, and a whole posix_sem run had a p50 of 1.1 us there.
      // Shared memory's waiters against the futex hand-off; kernel channels against the pipe's,
      // the simplest of them (a read that sleeps, woken by a write). Not the lesser of the two:
      // each is one noisy measurement (50 ms of a ping-pong whose 10 ms windows range over
      // 28-45 us on that guest), and the lesser of two read the kernel channels 1.1-1.4x above.
      const bool futex = backend_kind == "shm" || f.pipe_ns <= 0;
      const double handoff = futex ? f.futex_ns : f.pipe_ns;
      if (handoff <= 0) return Bound{};
      double copies = std::max(0.0, passes - f.line2_ns);
      b.value = handoff + copies;
      b.impossible = one_line;
      b.tolerance = 0.3;
      b.what = std::string(futex ? "futex" : "pipe") + " hand-off + the " + mode + " passes";
      b.impossible_what = std::string(one_line < polling ? "one-line" : "cache-line") +
                          " hand-off + the " + mode + " passes";
    } else {
      b.value = polling;
      b.what = std::string("cache-line hand-off + the ") + mode + " passes";
      if (one_line < polling) {
        b.impossible = one_line;
        b.impossible_what = std::string("one-line hand-off + the ") + mode + " passes";
      }
    }
    return b;
  }
  if (workload == "stream") {
    double ceiling = inplace ? s->stream_inplace_bytes_per_second : s->stream_copy_bytes_per_second;
    if (ceiling <= 0) return b;
    b.known = true;
    b.latency = false;
    b.value = ceiling;
    b.what = std::string("ring ") + (inplace ? "write-in + read-out" : "copy-in + copy-out") +
             " ceiling";
  }
  return b;
}

bool beyond_both_floors(const Bound& before, const Bound& after, double measured,
                        const std::string& wait_mode) {
  if (!before.known || !after.known || before.value <= 0 || after.value <= 0) return false;
  if (wait_mode == "block" || before.latency != after.latency) return false;
  if (before.latency)
    return measured < std::min(before.value, after.value) * (1 - before.tolerance);
  return wait_mode == "spin" &&
         measured > std::max(before.value, after.value) * (1 + before.tolerance);
}

}  // namespace ipcb
