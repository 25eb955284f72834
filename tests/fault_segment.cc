// Scribbling a running benchmark's segment (see fault_segment.h).
#include "tests/fault_segment.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstring>

#include "backends/shm_channel.h"
#include "harness/run/workload.h"
#include "harness/transport/frame.h"
#include "tests/fault_util.h"

namespace ipcb::test::fault {

size_t SegmentView::slots_for(bool deep) {
  return SlotRing::slots_for(kMessage, deep);
}

size_t SegmentView::bytes(bool deep) {
  ChannelConfig c;
  c.message_bytes = kMessage;
  c.deep = deep;
  return shm_channel_bytes(c);
}

std::optional<uint64_t> SegmentView::head(int r) const {
  std::vector<std::byte> ring(slots * kSlotBytes);
  if (!peek(pid, slot(r, 0), ring.data(), ring.size())) return std::nullopt;
  uint64_t h = 0;
  for (size_t i = 0; i < slots; ++i)
    h = std::max(h, get<uint64_t>(ring, i * kSlotBytes + kStampAt));
  return h;
}

std::optional<SegmentView> find_view(pid_t harness, const std::string& backend,
                                     const std::string& mmap_dir, double timeout_s, bool deep) {
  double t0 = now_s();
  do {
    if (auto m = find_segment(harness, backend, SegmentView::bytes(deep), mmap_dir)) {
      SegmentView v;
      v.pid = harness;
      v.map = *m;
      v.slots = SegmentView::slots_for(deep);
      return v;
    }
    sleep_s(0.005);
  } while (now_s() - t0 < timeout_s);
  return std::nullopt;
}

std::optional<uint64_t> caught_up(const SegmentView& v, int r) {
  const auto h0 = v.head(0), h1 = v.head(1);
  if (!h0 || !h1) return std::nullopt;
  // Every message gets one answer: the peer has read all of ring 0 once ring 1 holds as many;
  // the harness sends its next message only after reading the last answer.
  if (r == 0 ? *h1 != *h0 : *h0 != *h1 + 1) return std::nullopt;
  const uint64_t next = r == 0 ? *h0 : *h1;
  if (next == 0 || v.stamp(r, next) != v.not_yet(next)) return std::nullopt;
  return next;
}

bool forge_slot(const SegmentView& v, int r,
                const std::function<void(std::vector<std::byte>&)>& edit) {
  static const PayloadSource source(SegmentView::kPayload);
  const auto next = caught_up(v, r);
  if (!next) return false;
  std::vector<std::byte> msg(SegmentView::kMessage);
  if (!peek(v.pid, v.slot(r, *next - 1) + SegmentView::kMessageAt, msg.data(), msg.size())) {
    return false;
  }
  FrameHeader h = read_header(msg);
  // A data message, still the one of that position (the producer is frozen: it stays so).
  if (h.flags != kFrameData || h.payload_bytes != SegmentView::kPayload ||
      v.stamp(r, *next - 1) != *next) {
    return false;
  }
  h.seq += 1;
  h.checksum = source.checksum(h.seq);
  std::memcpy(msg.data(), &h, sizeof h);
  std::memcpy(msg.data() + sizeof h, source.payload(h.seq).data(), SegmentView::kPayload);
  edit(msg);
  // The message first, then the stamp that publishes it (the consumer polls the stamp).
  return poke(v.pid, v.slot(r, *next) + SegmentView::kMessageAt, msg.data(), msg.size()) &&
         v.store(v.stamp_at(r, *next), *next + 1);
}

namespace {
bool gone(pid_t p) {
  char s = proc_state(p);
  return s == 0 || s == 'Z' || s == 'X';
}
}  // namespace

void run_scribble(const std::string& backend, const std::string& sync, const Scribble& s) {
  const std::string what = backend + "/" + sync + ": " + s.name;
  Sandbox box("scribble");
  // A run that survives must end by itself soon; one that does not must fail long before its
  // natural end, so a fault noticed only at the end (or never) shows as a missed deadline.
  // A fault counted but reported only at the end needs a short run likewise.
  const bool short_run = s.ends != Ends::kAtOnce;
  Bench r(box, run_args(box, backend, sync, s.workload, short_run ? 1.0 : 30));
  const bool deep = find_workload(s.workload)->deep;
  double at = -1;
  pid_t peer = -1;
  std::vector<pid_t> peers;  // every peer taken for the long call's (reaped at the end)
  if (s.at_startup) {
    auto child = catch_spawned_child(r.pid(), 10);
    auto view = child ? find_view(r.pid(), backend, box.mmap(), 1, deep) : std::nullopt;
    if (view && s.act(*view)) at = r.age();
    if (child) {
      peer = child->pid();
      peers.push_back(peer);
      child->release();
    }
  } else if ((peer = steady_peer(r.pid(), 0.3, 15)) > 0) {
    peers.push_back(peer);
    for (int attempt = 0; attempt < 40 && at < 0; ++attempt) {
      // A sizing call can look steady for a while and then end: its peer goes, and the next
      // call maps a new segment, maybe at the same address. Take the call running now.
      if (gone(peer)) {
        if ((peer = steady_peer(r.pid(), 0.1, 5)) <= 0) break;
        peers.push_back(peer);
      }
      const pid_t frozen = s.freeze == Freeze::kHarness ? r.pid() : peer;
      if (s.freeze != Freeze::kNone && !freeze(frozen)) break;
      sleep_s(0.02);  // the other side settles: caught up, waiting
      // With either side frozen the call cannot end: this peer's segment is the one written.
      auto view = gone(peer) ? std::nullopt : find_view(r.pid(), backend, box.mmap(), 0, deep);
      if (view && s.act(*view)) at = r.age();
      if (at >= 0 && s.freeze != Freeze::kNone) {
        // The other side runs into the write while its writer cannot repair it.
        const pid_t other = s.freeze == Freeze::kHarness ? peer : r.pid();
        for (int i = 0; i < 50 && !gone(other); ++i) sleep_s(0.01);
      }
      if (s.freeze != Freeze::kNone) thaw(frozen);
      if (at < 0) sleep_s(0.005);
    }
  }
  if (at < 0) {
    ADD_FAILURE() << what << ": could not make the write (" << r.wait(0).describe() << ")";
    reap_survivors(peers, 1);
    return;
  }
  const double deadline = at + (short_run ? 5 : kTimeoutMs / 1000.0 + kSlackS);
  const Ended& e = r.wait(deadline + 1);
  Expect x;
  x.deadline_s = deadline;
  if (s.ends == Ends::kNormally || (s.ends == Ends::kMaySurvive && e.exit_code() == 0)) {
    x.exit_codes = {0};
  } else {
    x.any_of = s.words;
  }
  x.none_of = s.not_words;
  expect_outcome(what, e, box, x);
  EXPECT_TRUE(reap_survivors(peers, 2).empty()) << what << ": the peer outlived the run";
}

}  // namespace ipcb::test::fault
