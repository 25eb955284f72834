// Scribbling a running benchmark's segment (see fault_segment.h).
#include "tests/fault_segment.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>

#include "backends/shm_channel.h"
#include "harness/frame.h"
#include "harness/ring.h"
#include "tests/fault_util.h"

namespace ipcb::test::fault {

size_t SegmentView::bytes() {
  ChannelConfig c;
  c.message_bytes = sizeof(FrameHeader) + kPayload;
  return shm_channel_bytes(c);
}

size_t SegmentView::record_bytes() {
  return Ring::record_bytes(sizeof(FrameHeader) + kPayload);
}

std::optional<SegmentView> find_view(pid_t harness, const std::string& backend,
                                     const std::string& mmap_dir, double timeout_s) {
  double t0 = now_s();
  do {
    if (auto m = find_segment(harness, backend, SegmentView::bytes(), mmap_dir)) {
      SegmentView v;
      v.pid = harness;
      v.map = *m;
      v.ring = (SegmentView::bytes() - SegmentView::kData) / 2;
      return v;
    }
    sleep_s(0.005);
  } while (now_s() - t0 < timeout_s);
  return std::nullopt;
}

bool forge_record(const SegmentView& v, int r,
                  const std::function<void(std::vector<std::byte>&)>& edit) {
  const uint64_t head = v.load(v.head(r)), tail = v.load(v.tail(r));
  const size_t rec = SegmentView::record_bytes(), mask = v.ring - 1;
  if (head != tail || head < rec) return false;  // the consumer has not caught up
  const size_t idx = head & mask;
  if (v.ring - idx < rec) return false;  // it would need a wrap marker: try another time
  std::vector<std::byte> bytes(rec);
  if (!peek(v.pid, v.data(r) + ((head - rec) & mask), bytes.data(), rec)) return false;
  if (get<uint32_t>(bytes, kRecLen) != sizeof(FrameHeader) + SegmentView::kPayload) return false;
  edit(bytes);
  return poke(v.pid, v.data(r) + idx, bytes.data(), rec) && v.store(v.head(r), head + rec);
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
  const double min_time = s.survivable ? 0.5 : 30;
  Bench r(box, run_args(box, backend, sync, s.workload, min_time));
  double at = -1;
  pid_t peer = -1;
  if (s.at_startup) {
    auto child = catch_spawned_child(r.pid(), 10);
    auto view = child ? find_view(r.pid(), backend, box.mmap(), 1) : std::nullopt;
    if (view && s.act(*view)) at = r.age();
    if (child) {
      peer = child->pid();
      child->release();
    }
  } else if ((peer = steady_peer(r.pid(), 0.3, 15)) > 0) {
    auto view = find_view(r.pid(), backend, box.mmap(), 1);
    const pid_t frozen = s.freeze == Freeze::kHarness ? r.pid() : peer;
    for (int attempt = 0; view && attempt < 40 && at < 0; ++attempt) {
      if (s.freeze != Freeze::kNone && !freeze(frozen)) break;
      sleep_s(0.02);  // the other side settles: caught up, waiting
      if (s.act(*view)) at = r.age();
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
    reap_survivors({peer}, 1);
    return;
  }
  const double deadline = at + (s.survivable ? 5 : kTimeoutMs / 1000.0 + kSlackS);
  const Ended& e = r.wait(deadline + 1);
  Expect x;
  x.deadline_s = deadline;
  if (s.survivable && e.exit_code() == 0) {
    x.exit_codes = {0};
  } else {
    x.any_of = s.words;
  }
  expect_outcome(what, e, box, x);
  EXPECT_TRUE(reap_survivors({peer}, 2).empty()) << what << ": the peer outlived the run";
}

}  // namespace ipcb::test::fault
