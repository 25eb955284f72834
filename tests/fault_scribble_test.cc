// A third process scribbles the segment of a running shm benchmark (sysv_shm, posix_shm,
// mmap_file, memfd x futex, spin, posix_sem, condvar, sysv_sem, eventfd): random bytes over the
// header, credits and waiter slots; then each field alone with extreme values: the credits, the
// stamp of the slot the consumer polls next, the frame header of a forged slot, the waiter slots.
// The run must end within its deadline with exit status 1 and a message naming corruption
// ("corrupt"), or "no progress" where the write is indistinguishable from a stall; never with a
// crash signal, never hung; and leave nothing behind. Writes the channel can survive (a wait
// primitive's counter, a key read only at open, a credit rewritten before it is read) may
// instead let the run finish normally.
#include <functional>
#include <random>

#include "tests/fault_segment.h"
#include "tests/fault_util.h"

namespace ipcb::test::fault {
namespace {

const char* const kShm[] = {"sysv_shm", "posix_shm", "mmap_file", "memfd"};
const char* const kWaiters[] = {"futex", "spin", "posix_sem", "condvar", "sysv_sem", "eventfd"};
constexpr uint64_t k64[] = {0, 1, UINT64_MAX, 1ULL << 40};

struct Case {
  std::string backend, sync;
  Scribble s;
};

// The ring code is the same for every backend and waiter, so each field x value runs once, on
// a (backend, waiter) that rotates: the values of one field meet every backend, and
// consecutive fields start at different waiters.
Case rotated(size_t field, size_t value, Scribble s) {
  return {kShm[value % 4], kWaiters[(field + value) % 6], std::move(s)};
}

// A value the attacker writes, by name, made of two numbers of the segment (a table says which).
struct Value {
  const char* name;
  uint64_t (*of)(uint64_t, uint64_t);
};

void run_cases(const std::vector<Case>& cases) {
  in_parallel(cases.size(), 6,
              [&](size_t i) { run_scribble(cases[i].backend, cases[i].sync, cases[i].s); });
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// Waits (up to 0.3 s) until the stream's ring 0 is full, the harness waiting for space: its
// producer filled it up to the credit it last read, which its frozen consumer no longer moves.
// (8 MiB of 64-byte messages take the harness a few ms alone, tens of ms on a loaded machine.)
bool full(const SegmentView& v) {
  for (double t0 = now_s(); now_s() - t0 < 0.3; sleep_s(0.002)) {
    const uint64_t head = v.load(v.credit(0)) + v.slots;
    if (v.stamp(0, head - 1) == head && v.stamp(0, head) == v.not_yet(head)) return true;
  }
  return false;
}

using FaultScribble = FaultTest;

// Random bytes over [0, 4096): the header (read once, at open), both credits and every waiter
// slot.
Scribble random_bytes(uint64_t seed) {
  Scribble s;
  s.name =
      "random bytes over the header, credits and waiter slots (seed " + std::to_string(seed) + ")";
  s.words = {"corrupt", "no progress"};
  s.act = [seed](const SegmentView& v) {
    std::mt19937_64 rng(seed);
    std::vector<uint64_t> junk(SegmentView::kData / 8);
    for (auto& j : junk) j = rng();
    return poke(v.pid, v.map.start, junk.data(), SegmentView::kData);
  };
  return s;
}

// random_bytes (seeds counting up from `seed`) on every shared-memory backend with every
// waiter, each scribble changed by `adjust`.
void run_random_bytes(uint64_t seed, const std::function<void(Scribble&)>& adjust) {
  std::vector<Case> cases;
  for (const char* b : kShm) {
    for (const char* w : kWaiters) {
      Scribble s = random_bytes(seed++);
      adjust(s);
      cases.push_back({b, w, s});
    }
  }
  run_cases(cases);
}

// pingpong, the harness frozen: the peer meets random wait-primitive state at its next wait.
// A credit is read only when its producer needs space, and in a pingpong its consumer rewrites
// it first, so only a waiter slot the waiter checks can fail the run: it may survive.
TEST_F(FaultScribble, RandomBytesOverHeaderCreditsAndWaiterSlots) {
  run_random_bytes(1, [](Scribble& s) {
    s.name += " (pingpong, the peer waits for data)";
    s.freeze = Freeze::kHarness;
    s.ends = Ends::kMaySurvive;
  });
}

// stream, the peer frozen: the harness has filled the ring and waits for space, on a random
// space slot, reading the random credit: the run must fail.
TEST_F(FaultScribble, RandomBytesWhileTheProducerWaitsForSpace) {
  run_random_bytes(101, [](Scribble& s) {
    s.name += " (stream, the harness waits for space)";
    s.freeze = Freeze::kPeer;
    s.workload = "stream";
    s.act = [act = s.act](const SegmentView& v) { return full(v) && act(v); };
  });
}

// Ring 0's credit in a stream, the peer (its only writer) frozen once the harness has filled the
// ring, so the harness reads the value at its next look for space: a credit ahead of what it
// produced, or behind what it saw last, is corruption. Ring 1's credit in a pingpong, the
// harness (its writer) frozen: the peer reads it only after the harness rewrote it, or meets it.
TEST_F(FaultScribble, Credits) {
  std::vector<Case> cases;
  // Each value is of(credit, head).
  const Value stream[] = {
      {"head + 1 (ahead of the producer)", [](uint64_t, uint64_t h) { return h + 1; }},
      {"credit - 1 (backwards)", [](uint64_t c, uint64_t) { return c - 1; }},
      {"UINT64_MAX", [](uint64_t, uint64_t) { return UINT64_MAX; }},
      {"0 (backwards)", [](uint64_t, uint64_t) { return uint64_t{0}; }}};
  for (size_t i = 0; i < std::size(stream); ++i) {
    const Value val = stream[i];
    Scribble s;
    s.name = std::string("ring 0 credit = ") + val.name + " (stream, the harness waits for space)";
    s.freeze = Freeze::kPeer;
    s.workload = "stream";
    s.act = [val](const SegmentView& v) {
      if (!full(v)) return false;
      const uint64_t c = v.load(v.credit(0));
      return v.store(v.credit(0), val.of(c, c + v.slots));
    };
    cases.push_back(rotated(0, i, s));
  }
  for (size_t i = 0; i < 2; ++i) {
    const uint64_t val = i == 0 ? UINT64_MAX : 0;
    Scribble s;
    s.name = "ring 1 credit = " + hex(val) + " (pingpong, written while its writer is frozen)";
    s.freeze = Freeze::kHarness;
    s.ends = Ends::kMaySurvive;
    s.act = [val](const SegmentView& v) { return v.store(v.credit(1), val); };
    cases.push_back(rotated(1, i, s));
  }
  run_cases(cases);
}

// The stamp of the slot the consumer polls next (pingpong, its producer frozen): only this
// lap's (position + 1) means ready and the previous lap's not yet; anything else is corruption,
// and a stamp of an older lap must not deliver the old message still in the slot.
TEST_F(FaultScribble, SlotStamps) {
  std::vector<Case> cases;
  // Each value is of(position, slots).
  const Value values[] = {
      {"next lap's", [](uint64_t p, uint64_t n) { return p + 1 + n; }},
      {"far future (+ 2^40)", [](uint64_t p, uint64_t) { return p + 1 + (uint64_t{1} << 40); }},
      {"UINT64_MAX", [](uint64_t, uint64_t) { return UINT64_MAX; }},
      {"two laps back (stale slot after wrap)",
       [](uint64_t p, uint64_t n) { return p + 1 - 2 * n; }}};
  for (int ring = 0; ring < 2; ++ring) {
    for (size_t i = 0; i < std::size(values); ++i) {
      const Value val = values[i];
      Scribble s;
      s.name = std::string("stamp of ring ") + std::to_string(ring) + "'s next slot = " + val.name +
               (ring == 0 ? " (read by the peer)" : " (read by the harness)");
      s.freeze = ring == 0 ? Freeze::kHarness : Freeze::kPeer;
      s.not_words = {"corrupt frame received"};  // the old message was delivered
      s.act = [ring, val](const SegmentView& v) {
        const auto next = caught_up(v, ring);
        if (!next || *next + 1 < 2 * v.slots) return false;
        return v.store(v.stamp_at(ring, *next), val.of(*next, v.slots));
      };
      cases.push_back(rotated(2 + ring, i, s));
    }
  }
  run_cases(cases);
}

// One change to a forged message, and its name.
struct Edit {
  std::string name;
  std::function<void(std::vector<std::byte>&)> apply;
};

template <typename T>
Edit set(const char* field, size_t offset, T value) {
  return {std::string(field) + " = " + hex(value),
          [=](std::vector<std::byte>& m) { put(m, offset, value); }};
}

// Frame headers: the ring's producer is frozen and its next message (the next seq, that seq's
// payload and checksum) is forged with one field changed. flags, payload_bytes and seq break the
// protocol and end the run at once; a wrong checksum is counted and fails the run at its end;
// the unchanged message (the control) must be taken as the real one.
TEST_F(FaultScribble, FrameHeadersInForgedSlots) {
  const Edit none{"nothing changed", [](std::vector<std::byte>&) {}};
  const Edit repeated{"frame seq = the last frame's (repeated)",
                      [](std::vector<std::byte>& m) { put(m, kSeq, get<uint64_t>(m, kSeq) - 1); }};
  const Edit flipped{"frame checksum = the right one ^ 1", [](std::vector<std::byte>& m) {
                       put(m, kChecksum, get<uint64_t>(m, kChecksum) ^ 1);
                     }};
  struct Group {
    int ring;
    Ends ends;
    std::vector<Edit> edits;
  };
  const std::vector<Group> groups = {
      {0, Ends::kNormally, {none}},
      {0,
       Ends::kAtOnce,
       {set("frame flags", kFlags, 0u), set("frame flags", kFlags, 0xFFFFFFFFu),
        set("frame flags", kFlags, 1u << 20), set("frame flags", kFlags, 32u),
        set("frame flags", kFlags, uint32_t{kFrameData | kFrameStop})}},
      {0,
       Ends::kAtOnce,
       {set("frame payload_bytes", kPayloadBytes, 0u),
        set("frame payload_bytes", kPayloadBytes, 1u),
        set("frame payload_bytes", kPayloadBytes, 0xFFFFFFFFu),
        set("frame payload_bytes", kPayloadBytes, 1u << 20)}},
      {0,
       Ends::kAtOnce,
       {set("frame seq", kSeq, k64[0]), set("frame seq", kSeq, k64[1]),
        set("frame seq", kSeq, k64[2]), set("frame seq", kSeq, k64[3]), repeated}},
      {0,
       Ends::kAtItsEnd,
       {set("frame checksum", kChecksum, uint64_t{0}), set("frame checksum", kChecksum, UINT64_MAX),
        flipped}},
      {1, Ends::kNormally, {none}},
      {1,
       Ends::kAtOnce,
       {set("frame flags", kFlags, 0u), set("frame flags", kFlags, 0xFFFFFFFFu),
        set("frame payload_bytes", kPayloadBytes, 0u),
        set("frame payload_bytes", kPayloadBytes, 1u << 20), set("frame seq", kSeq, k64[0])}},
      {1, Ends::kAtItsEnd, {flipped}},
  };
  std::vector<Case> cases;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Group& gr = groups[g];
    for (size_t i = 0; i < gr.edits.size(); ++i) {
      const Edit edit = gr.edits[i];
      const int ring = gr.ring;
      Scribble s;
      s.name = edit.name + " in a forged slot of ring " + std::to_string(ring) +
               (ring == 0 ? " (read by the peer)" : " (read by the harness)");
      s.freeze = ring == 0 ? Freeze::kHarness : Freeze::kPeer;
      s.ends = gr.ends;
      if (gr.ends == Ends::kAtOnce) s.words = {"corrupt frame received"};
      if (gr.ends == Ends::kAtItsEnd) s.words = {"checksum"};
      s.act = [edit, ring](const SegmentView& v) { return forge_slot(v, ring, edit.apply); };
      cases.push_back(rotated(g, i, s));
    }
  }
  run_cases(cases);
}

// One 32-bit (or `n`-byte fill) write at `offset` of all four waiter slots.
Scribble slot_write(const std::string& name, size_t offset, std::vector<uint8_t> bytes) {
  Scribble s;
  s.name = name;
  s.act = [offset, bytes](const SegmentView& v) {
    for (int i = 0; i < 4; ++i) {
      if (!poke(v.pid, v.waiter(i) + offset, bytes.data(), bytes.size())) return false;
    }
    return true;
  };
  return s;
}

std::vector<uint8_t> u32(uint32_t v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

void add_on_every_backend(std::vector<Case>& cases, const char* sync, const Scribble& s) {
  cases.push_back({kShm[cases.size() % 4], sync, s});
}

// futex: the word and the waiter count. Either leaves the channel usable (a wake is lost or
// spurious; sleeps are sliced), so the run may finish; it must not hang or crash.
TEST_F(FaultScribble, FutexSlots) {
  std::vector<Case> cases;
  for (uint32_t v : {0u, 0xFFFFFFFFu}) {
    for (auto [field, off] : {std::pair{"futex word", 0}, std::pair{"futex waiter count", 4}}) {
      Scribble s = slot_write(std::string(field) + " = " + hex(v), off, u32(v));
      s.ends = Ends::kMaySurvive;
      add_on_every_backend(cases, "futex", s);
    }
  }
  run_cases(cases);
}

// posix_sem: the sem_t bytes (at 16 in the slot). All zero is a valid, empty semaphore; all
// 0xff and random bytes are not, and glibc aborts on what the futex call then returns.
TEST_F(FaultScribble, PosixSemSlots) {
  std::vector<Case> cases;
  std::vector<uint8_t> random(32);
  std::mt19937 rng(7);
  for (auto& b : random) b = static_cast<uint8_t>(rng());
  Scribble zero = slot_write("sem_t bytes all 0x00", 16, std::vector<uint8_t>(32, 0));
  zero.ends = Ends::kMaySurvive;
  Scribble count = slot_write("posix_sem waiter count = 0xffffffff", 0, u32(0xFFFFFFFFu));
  count.ends = Ends::kMaySurvive;
  for (const Scribble& s :
       {zero, count, slot_write("sem_t bytes all 0xff", 16, std::vector<uint8_t>(32, 0xff)),
        slot_write("sem_t bytes random (seed 7)", 16, random)}) {
    add_on_every_backend(cases, "posix_sem", s);
  }
  run_cases(cases);
}

// condvar: the robust mutex's lock word (at 16 in the slot). 0 is unlocked, and a word with
// FUTEX_OWNER_DIED (0x40000000) set is a robust mutex whose owner died, which the next locker
// takes back (EOWNERDEAD, then pthread_mutex_consistent): both survivable. A live owner (tid 1)
// or a thread that does not exist must not hang the run: a lock that never comes back is a
// stall ("no progress"), or recognised as corrupt.
TEST_F(FaultScribble, CondvarMutexWord) {
  std::vector<Case> cases;
  for (uint32_t v : {0u, 0x40000000u, 0xFFFFFFFFu}) {
    Scribble s = slot_write("pthread mutex word = " + hex(v), 16, u32(v));
    s.ends = Ends::kMaySurvive;
    add_on_every_backend(cases, "condvar", s);
  }
  for (uint32_t v : {1u, 0x3FFFFFFFu}) {
    Scribble s = slot_write("pthread mutex word = " + hex(v), 16, u32(v));
    s.words = {"corrupt", "no progress"};
    add_on_every_backend(cases, "condvar", s);
  }
  run_cases(cases);
}

// sysv_sem: the set's key (at 4). The peer reads it once, when it opens the channel, so the
// write is made while the first peer is held before its exec; afterwards it is survivable.
TEST_F(FaultScribble, SysvSemKey) {
  std::vector<Case> cases;
  for (uint32_t v : {0u, 1u, 0xFFFFFFFFu, 0x7FFFFFFFu}) {
    Scribble s = slot_write("sysv_sem key = " + hex(v) + " before the peer opens", 4, u32(v));
    s.at_startup = true;
    add_on_every_backend(cases, "sysv_sem", s);
  }
  Scribble late = slot_write("sysv_sem key = 0 mid-run", 4, u32(0));
  late.ends = Ends::kMaySurvive;
  add_on_every_backend(cases, "sysv_sem", late);
  run_cases(cases);
}

// eventfd: the descriptor number (at 4), likewise read once by the peer at open.
TEST_F(FaultScribble, EventfdDescriptor) {
  std::vector<Case> cases;
  for (uint32_t v : {0u, 1u, 0xFFFFFFFFu, 1u << 20}) {
    Scribble s = slot_write("eventfd descriptor = " + std::to_string(static_cast<int32_t>(v)) +
                                " before the peer opens",
                            4, u32(v));
    s.at_startup = true;
    add_on_every_backend(cases, "eventfd", s);
  }
  Scribble late = slot_write("eventfd descriptor = -1 mid-run", 4, u32(0xFFFFFFFFu));
  late.ends = Ends::kMaySurvive;
  add_on_every_backend(cases, "eventfd", late);
  run_cases(cases);
}

}  // namespace
}  // namespace ipcb::test::fault
