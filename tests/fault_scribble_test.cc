// A third process scribbles the segment of a running shm benchmark (sysv_shm, posix_shm,
// mmap_file, memfd x futex, spin, posix_sem, condvar, sysv_sem, eventfd): random bytes over the
// header, ring controls and waiter slots; then each field alone with extreme values. The run
// must end within its deadline with exit status 1 and a message naming corruption ("corrupt"),
// or "no progress" where the write is indistinguishable from a stall; never with a crash signal,
// never hung; and leave nothing behind. Writes the channel can survive (a wait primitive's
// counter, a key read only at open) may instead let the run finish normally.
#include <random>

#include "tests/fault_segment.h"
#include "tests/fault_util.h"

namespace ipcb::test::fault {
namespace {

const char* const kShm[] = {"sysv_shm", "posix_shm", "mmap_file", "memfd"};
const char* const kWaiters[] = {"futex", "spin", "posix_sem", "condvar", "sysv_sem", "eventfd"};
constexpr uint64_t k64[] = {0, 1, UINT64_MAX, 1ULL << 40};
constexpr uint32_t kLen[] = {0, 1, 0xFFFFFFFFu, 1u << 30};  // 0xFFFFFFFF is the wrap marker

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

void run_cases(const std::vector<Case>& cases) {
  in_parallel(cases.size(), 6,
              [&](size_t i) { run_scribble(cases[i].backend, cases[i].sync, cases[i].s); });
}

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

using FaultScribble = FaultTest;

// Random bytes over [0, 4096) with the harness frozen: the peer meets random ring positions (and
// random wait-primitive state) at its next wait.
TEST_F(FaultScribble, RandomBytesOverHeaderControlsAndSlots) {
  std::vector<Case> cases;
  uint64_t seed = 1;
  for (const char* b : kShm) {
    for (const char* w : kWaiters) {
      Scribble s;
      s.name =
          "random bytes over the header, controls and slots (seed " + std::to_string(seed) + ")";
      s.freeze = Freeze::kHarness;
      s.words = {"corrupt", "no progress"};
      s.act = [seed](const SegmentView& v) {
        std::mt19937_64 rng(seed);
        std::vector<uint64_t> junk(SegmentView::kData / 8);
        for (auto& j : junk) j = rng();
        return poke(v.pid, v.map.start, junk.data(), SegmentView::kData);
      };
      cases.push_back({b, w, s});
      ++seed;
    }
  }
  run_cases(cases);
}

// Ring positions: the writer of each is frozen, so only the reader sees the value.
//  ring 0 head: written by the harness, read by the waiting peer (pingpong);
//  ring 1 head: written by the peer, read by the harness waiting for the echo (pingpong);
//  ring 0 tail: written by the peer, read by the harness when the ring is full (stream).
// (Ring 1's tail is read only when the peer's ring fills, which pingpong never does.)
TEST_F(FaultScribble, RingPositions) {
  std::vector<Case> cases;
  struct Field {
    const char* name;
    int ring;
    bool tail;
    Freeze freeze;
    const char* workload;
  };
  const Field fields[] = {{"ring 0 head", 0, false, Freeze::kHarness, "pingpong"},
                          {"ring 1 head", 1, false, Freeze::kPeer, "pingpong"},
                          {"ring 0 tail", 0, true, Freeze::kPeer, "stream"}};
  for (size_t f = 0; f < std::size(fields); ++f) {
    for (size_t i = 0; i < std::size(k64); ++i) {
      const Field fd = fields[f];
      const uint64_t val = k64[i];
      Scribble s;
      s.name = std::string(fd.name) + " = " + hex(val) + " (" + fd.workload + ")";
      s.freeze = fd.freeze;
      s.workload = fd.workload;
      s.act = [fd, val](const SegmentView& v) {
        return v.store(fd.tail ? v.tail(fd.ring) : v.head(fd.ring), val);
      };
      cases.push_back(rotated(f, i, s));
    }
  }
  run_cases(cases);
}

// Records: the ring's producer is frozen and a copy of its last record, with one field changed,
// is published as the next record (the next sequence number, so only that field is wrong).
TEST_F(FaultScribble, RecordLengthsAndFrameHeaders) {
  std::vector<Case> cases;
  struct Field {
    const char* name;
    size_t offset;
    size_t width;  // 4 or 8
    std::vector<uint64_t> values;
    int ring;
  };
  const std::vector<Field> fields = {
      {"record length", kRecLen, 4, {kLen[0], kLen[1], kLen[2], kLen[3]}, 0},
      {"frame flags", kRecFlags, 4, {0, 0xFFFFFFFFu, 1u << 20, 32}, 0},
      {"frame payload_bytes", kRecPayloadBytes, 4, {0, 1, 0xFFFFFFFFu, 1u << 20}, 0},
      {"frame seq", kRecSeq, 8, {k64[0], k64[1], k64[2], k64[3]}, 0},
      {"record length", kRecLen, 4, {0, 1u << 30}, 1},
      {"frame flags", kRecFlags, 4, {0, 0xFFFFFFFFu}, 1},
  };
  for (size_t f = 0; f < fields.size(); ++f) {
    for (size_t i = 0; i < fields[f].values.size(); ++i) {
      const Field fd = fields[f];
      const uint64_t val = fd.values[i];
      Scribble s;
      s.name = std::string(fd.name) + " = " + hex(val) + " in a record of ring " +
               std::to_string(fd.ring) +
               (fd.ring == 0 ? " (read by the peer)" : " (read by the harness)");
      s.freeze = fd.ring == 0 ? Freeze::kHarness : Freeze::kPeer;
      s.act = [fd, val](const SegmentView& v) {
        return forge_record(v, fd.ring, [&](std::vector<std::byte>& rec) {
          put(rec, kRecSeq, get<uint64_t>(rec, kRecSeq) + 1);
          if (fd.width == 4) {
            put(rec, fd.offset, static_cast<uint32_t>(val));
          } else {
            put(rec, fd.offset, val);
          }
        });
      };
      cases.push_back(rotated(f, i, s));
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
      if (!poke(v.pid, v.slot(i) + offset, bytes.data(), bytes.size())) return false;
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
      s.survivable = true;
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
  zero.survivable = true;
  Scribble count = slot_write("posix_sem waiter count = 0xffffffff", 0, u32(0xFFFFFFFFu));
  count.survivable = true;
  for (const Scribble& s :
       {zero, count, slot_write("sem_t bytes all 0xff", 16, std::vector<uint8_t>(32, 0xff)),
        slot_write("sem_t bytes random (seed 7)", 16, random)}) {
    add_on_every_backend(cases, "posix_sem", s);
  }
  run_cases(cases);
}

// condvar: the robust mutex's lock word (at 16 in the slot). 0 is unlocked (survivable); a
// live owner (tid 1), a thread that does not exist, or every bit set must not hang the run:
// a lock that never comes back is a stall ("no progress"), or recognised as corrupt.
TEST_F(FaultScribble, CondvarMutexWord) {
  std::vector<Case> cases;
  Scribble zero = slot_write("pthread mutex word = 0", 16, u32(0));
  zero.survivable = true;
  add_on_every_backend(cases, "condvar", zero);
  for (uint32_t v : {1u, 0x3FFFFFFFu, 0xFFFFFFFFu}) {
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
  late.survivable = true;
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
  late.survivable = true;
  add_on_every_backend(cases, "eventfd", late);
  run_cases(cases);
}

}  // namespace
}  // namespace ipcb::test::fault
