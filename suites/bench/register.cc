// Google Benchmark registration of the matrix (see register.h).
#include "suites/bench/register.h"

#include <benchmark/benchmark.h>

#include "backends/backend.h"
#include "harness/report/report.h"
#include "harness/run/workload.h"

#include <algorithm>
#include <cstdio>
#include <optional>

namespace ipcb {
namespace {

// How long a floor is measured again when a result falls below the run's earlier one.
constexpr double kRecheckBudgetS = 0.1;
constexpr int kRechecks = 3;  // floor measurements after a result below the run's floor, at most

class StateLoop final : public Loop {
 public:
  explicit StateLoop(benchmark::State& s) : s_(s) {}
  bool next() override { return s_.KeepRunning(); }
  uint64_t planned() const override { return static_cast<uint64_t>(s_.max_iterations); }
  // Manual time accumulates (Google Benchmark sums every SetIterationTime call), so a workload
  // may report per iteration (pingpong) or once for the whole loop (stream, whose last messages
  // are only delivered after the loop ends).
  void add_time(uint64_t ns) override { s_.SetIterationTime(static_cast<double>(ns) * 1e-9); }

 private:
  benchmark::State& s_;
};

// A self-sized call (see register_benchmarks): Google Benchmark runs it as one iteration; the
// workload's loop runs until `min_time_s` passed since its first measured iteration (looking at
// the clock every 64 iterations), and Google Benchmark's time per iteration becomes the
// workload's time divided by the iterations it made.
class TimedLoop final : public Loop {
 public:
  TimedLoop(benchmark::State& s, double min_time_s)
      : s_(s), budget_ns_(static_cast<uint64_t>(min_time_s * 1e9)) {}
  bool next() override {
    if (n_ == 0) {
      if (!s_.KeepRunning()) return false;  // Google Benchmark's one iteration starts
      t0_ = sys::now_ns();
    } else if ((n_ % kLookEvery) == 0 && sys::now_ns() - t0_ >= budget_ns_) {
      s_.KeepRunning();  // and ends (false): the one iteration is done
      return false;
    }
    ++n_;
    return true;
  }
  // What a long run plans: the workloads warm up as for one (see warm_up).
  uint64_t planned() const override { return kPlanned; }
  // The workloads add their measured time once, after the loop.
  void add_time(uint64_t ns) override {
    s_.SetIterationTime(static_cast<double>(ns) * 1e-9 /
                        static_cast<double>(std::max<uint64_t>(1, n_)));
  }

 private:
  static constexpr uint64_t kLookEvery = 64;
  static constexpr uint64_t kPlanned = uint64_t{1} << 32;
  benchmark::State& s_;
  uint64_t budget_ns_;
  uint64_t n_ = 0;
  uint64_t t0_ = 0;
};

double rate(uint64_t count, uint64_t ns) {
  return ns == 0 ? 0.0 : static_cast<double>(count) * 1e9 / static_cast<double>(ns);
}

void set_percentiles(benchmark::State& state, const std::string& prefix, const Histogram& h) {
  state.counters[prefix + "_p50_ns"] = h.percentile(0.50);
  state.counters[prefix + "_p90_ns"] = h.percentile(0.90);
  state.counters[prefix + "_p99_ns"] = h.percentile(0.99);
  state.counters[prefix + "_p999_ns"] = h.percentile(0.999);
  state.counters[prefix + "_max_ns"] = static_cast<double>(h.max());
}

double per(uint64_t value, uint64_t messages) {
  return messages == 0 ? 0.0 : static_cast<double>(value) / static_cast<double>(messages);
}

constexpr double kSaturatedBelow = 0.95;

// The rate workload: offered against achieved, back-pressure, the sender's lag behind its
// schedule and the latency from the actual send beside the corrected `latency_*`.
void set_paced(benchmark::State& state, const BenchSpec& spec, const Measurement& m) {
  const double offered = static_cast<double>(m.offered_rate);
  const double achieved = rate(m.messages, m.elapsed_ns);
  state.counters["offered_rate"] = offered;
  state.counters["achieved_rate"] = achieved;
  // Below 95% of the offered rate the mechanism (or the sender) cannot keep up: the backlog
  // and the corrected latency grow for as long as the run lasts.
  state.counters["saturated"] = achieved < kSaturatedBelow * offered ? 1 : 0;
  state.counters["backpressured"] = static_cast<double>(m.backpressured);
  state.counters["backpressured_fraction"] = per(m.backpressured, m.messages);
  state.counters["send_lag_p50_ns"] = m.send_lag.percentile(0.50);
  state.counters["send_lag_p99_ns"] = m.send_lag.percentile(0.99);
  state.counters["send_lag_max_ns"] = static_cast<double>(m.send_lag.max());
  state.counters["pace_poll_ns_per_msg"] = per(m.pace_poll_ns, m.messages);
  if (spec.probed_capacity > 0) state.counters["probed_capacity"] = spec.probed_capacity;
  if (m.has_uncorrected) set_percentiles(state, "uncorrected", m.uncorrected);
}

// The fairness contract: how both sides waited and what each delivered message cost them.
void set_fairness(benchmark::State& state, const BenchSpec& spec, const Measurement& m) {
  state.counters["copies_per_msg"] = m.copies_per_msg;
  state.counters["ring_bytes"] = static_cast<double>(m.ring_bytes);
  state.counters["bytes_written"] = static_cast<double>(m.bytes_written);
  state.counters["bytes_read"] = static_cast<double>(m.bytes_read);
  state.counters["cpu_self_ns_per_msg"] = per(m.self_usage.cpu_ns, m.messages);
  state.counters["cpu_peer_ns_per_msg"] = per(m.peer_usage.cpu_ns, m.messages);
  state.counters["vcsw_self_per_msg"] = per(m.self_usage.voluntary_switches, m.messages);
  state.counters["vcsw_peer_per_msg"] = per(m.peer_usage.voluntary_switches, m.messages);
  state.counters["ivcsw_self_per_msg"] = per(m.self_usage.involuntary_switches, m.messages);
  state.counters["ivcsw_peer_per_msg"] = per(m.peer_usage.involuntary_switches, m.messages);
  state.counters["fan"] = spec.fan;
  if (m.paced) set_paced(state, spec, m);
  // perf events per message, each side; an event that was not counted has no counter at all.
  for (const auto& [side, counts] : {std::pair{"self", &m.self_perf}, {"peer", &m.peer_perf}}) {
    for (const auto& [event, value] : *counts) {
      if (m.messages != 0) {
        state.counters[perf_counter_name(event, side)] = value / static_cast<double>(m.messages);
      }
    }
  }
  if (spec.inject_ns != 0) state.counters["inject_ns"] = static_cast<double>(spec.inject_ns);
  state.SetLabel(m.wait_mode + " wait, " + copy_mode_name(spec.mode) + ", " + spec.placement.name);
}

nlohmann::json describe(const BenchSpec& spec) {
  return {{"workload", spec.workload},
          {"backend", spec.backend},
          {"sync", spec.sync},
          {"payload_bytes", spec.payload_bytes},
          {"copy_mode", copy_mode_name(spec.mode)},
          {"placement", spec.placement.name},
          {"cpu_self", spec.placement.cpu_self},
          {"cpu_peer", spec.placement.cpu_peer},
          {"verify", verify_name(spec.verify)},
          {"inject_ns", spec.inject_ns}};
}

// What a result is read against its bound with: its p50, or its throughput: a spinning
// shared-memory stream's steady pace (steady_bytes_per_second: the windows the host did not slow
// down below half the median pace, as its ceiling's windows are read; more than
// kSlowShareTolerance of its time in such windows leaves its ratio unsettled, check_steady), any
// other stream's bytes_per_second.
double measured_against(const Bound& bound, const Measurement& m) {
  if (bound.latency) return m.latency.percentile(0.50);
  if (m.wait_mode == "spin" && m.ring_bytes != 0 && m.steady_bytes_per_second > 0) {
    return m.steady_bytes_per_second;
  }
  return rate(m.payload_bytes, m.elapsed_ns);
}

// The floor (or ceiling) in `floors` that bounds this result (see bound_for).
Bound bound_of(const BenchSpec& spec, const Measurement& m, const Floors& floors) {
  const BackendInfo* b = find_backend(spec.backend);
  return bound_for(floors, spec.workload, b ? b->kind : "", m.wait_mode,
                   spec.mode == CopyMode::kInplace, spec.payload_bytes);
}

// A result read against the floor that bounds it: counters, and a note when it is below it
// (by more than the floor's own noise, see Bound::tolerance), which no mechanism can be.
// Returns whether it is below.
bool set_floor(benchmark::State& state, const BenchSpec& spec, int rep, const Measurement& m,
               const Floors* floors, RunTally& tally) {
  if (floors == nullptr) return false;
  const auto key = std::make_pair(spec.name(), rep);
  tally.below_floor.erase(key);  // an earlier call's (see RunTally::below_floor)
  const BackendInfo* b = find_backend(spec.backend);
  const Bound bound = bound_of(spec, m, *floors);
  if (!bound.known) return false;
  const double measured = measured_against(bound, m);
  double ratio = measured / bound.value;
  state.counters[bound.latency ? "floor_ns" : "ceiling_bytes_per_second"] = bound.value;
  state.counters["ratio_to_floor"] = ratio;
  tally.fields[spec.name()]["floor"] = bound.what;
  // A polling copy-mode ping-pong through shared memory, against the same slot protocol with
  // nothing else: what the harness itself adds.
  if (bound.latency && spec.workload == "pingpong" && m.wait_mode != "block" && b != nullptr &&
      std::string(b->kind) == "shm" && spec.mode == CopyMode::kCopy) {
    const SizeFloors* s = size_floors(*floors, spec.payload_bytes);
    if (s != nullptr && s->pingpong_slot_ns > 0) {
      state.counters["protocol_ns"] = s->pingpong_slot_ns;
      state.counters["ratio_to_protocol"] = measured / s->pingpong_slot_ns;
    }
  }
  // An in-place stream is bounded by the ring's write-in + read-out ceiling; it is also read
  // against the copy path's (copy in + copy out, from the same floors): what building and
  // checking the message in its slot gains over copying it in and out.
  if (!bound.latency && spec.workload == "stream" && spec.mode == CopyMode::kInplace) {
    const SizeFloors* s = size_floors(*floors, spec.payload_bytes);
    if (s != nullptr && s->stream_copy_bytes_per_second > 0) {
      state.counters["copy_ceiling_bytes_per_second"] = s->stream_copy_bytes_per_second;
      state.counters["ratio_to_copy_ceiling"] = measured / s->stream_copy_bytes_per_second;
    }
  }
  // Impossible is below what this machine showed at its fastest in this run (a result may have
  // been measured in a fast spell of the host, the floor in a slow one).
  Bound fastest = bound;
  if (auto f = tally.fastest_floors.find(spec.placement.name); f != tally.fastest_floors.end()) {
    if (Bound b = bound_of(spec, m, f->second); b.known) fastest = b;
  }
  double limit = fastest.impossible > 0 ? fastest.impossible : fastest.value;
  // The stream ceiling is two threads copying side by side, each message handed over at once,
  // as two spinning sides do. A waiter that lets the ring fill (sleep, yield, a blocked reader)
  // has the reader drain it later from the shared cache, which can beat that: only a spinning
  // stream above its ceiling is impossible.
  const bool judged = bound.latency || m.wait_mode == "spin";
  bool below = judged && (bound.latency ? measured < limit * (1 - bound.tolerance)
                                        : measured > limit * (1 + bound.tolerance));
  if (below) {
    const std::string& what = fastest.impossible > 0 ? fastest.impossible_what : fastest.what;
    char line[320];
    std::snprintf(line, sizeof line,
                  "%s: %s %.4g %s the %s %.4g (the %s this run measured; ratio %.2f)",
                  spec.name().c_str(), bound.latency ? "p50" : "throughput", measured,
                  bound.latency ? "ns is below" : "B/s is above", what.c_str(), limit,
                  bound.latency ? "fastest" : "highest", measured / limit);
    tally.below_floor[key] = line;
  }
  return below;
}

// How far the floor measured right before a result may lie from the one right after it before
// the result's ratio is called unsettled: the floors' own run-to-run noise is 10-15% here.
constexpr double kFloorDriftTolerance = 0.25;

// Compares the floor that bounds a result, measured before and after it: a floor that moved
// (a VM's vCPUs placed elsewhere by the host, in between) leaves the ratio unsettled, and a
// result "below its floor" then proves nothing (it is listed as unsettled instead).
void check_drift(benchmark::State& state, const BenchSpec& spec, int rep, const Measurement& m,
                 const Floors& before, const Floors& after, RunTally& tally) {
  const Bound x = bound_of(spec, m, before), y = bound_of(spec, m, after);
  if (!x.known || !y.known || x.value <= 0 || y.value <= 0) return;
  const double drift = y.value / x.value;
  state.counters["floor_drift"] = drift;
  const auto key = std::make_pair(spec.name(), rep);
  tally.floor_unsettled.erase(key);  // an earlier sizing call's
  if (drift <= 1 + kFloorDriftTolerance && drift >= 1 / (1 + kFloorDriftTolerance)) return;
  state.counters["floor_unsettled"] = 1;
  tally.below_floor.erase(key);
  char line[320];
  std::snprintf(line, sizeof line,
                "%s: its %s was %.4g before it and %.4g after it (x%.2f): ratio not judged",
                spec.name().c_str(), y.what.c_str(), x.value, y.value, drift);
  tally.floor_unsettled[key] = line;
}

// A polling result (or a spinning stream) beyond the floor measured right before it and the one
// right after it, yet not impossible (within what this run measured at its fastest): it ran faster
// than that reference did, both times. On a VM a cache-line hand-off takes about 27, 55 or 190 ns
// for a second or more at a time; a floor that was slow both times escapes check_drift, and the
// ratio (0.33-0.35 for three 8 and 64 B ping-pongs of one floors-suite run) says nothing about the
// harness. A ping-pong can also run faster than the two-line reference, not than the one-line
// hand-off (see bound_for: an 8 B one at 36 ns between two-line floors of 55 and 56 ns). It is
// marked unsettled as check_drift marks one. Not for blocking results: a waiter that finds its
// message before it sleeps beats the hand-off at any host speed.
void check_faster_than_its_floors(benchmark::State& state, const BenchSpec& spec, int rep,
                                  const Measurement& m, const Floors& before, const Floors& after,
                                  RunTally& tally) {
  const Bound x = bound_of(spec, m, before), y = bound_of(spec, m, after);
  const auto key = std::make_pair(spec.name(), rep);
  if (tally.floor_unsettled.count(key) != 0 || tally.below_floor.count(key) != 0) return;
  const double measured = measured_against(x, m);
  if (!beyond_both_floors(x, y, measured, m.wait_mode)) return;
  state.counters["floor_unsettled"] = 1;
  char line[448];
  std::snprintf(line, sizeof line,
                "%s: its %s %.4g %s its %s both before it (%.4g) and after it (%.4g), but not "
                "the fastest this run measured: it ran faster than that reference did (a faster "
                "host state, or a quicker way through the caches); ratio not judged",
                spec.name().c_str(), x.latency ? "p50" : "throughput", measured,
                x.latency ? "ns is below" : "B/s is above", y.what.c_str(), x.value, y.value);
  tally.floor_unsettled[key] = line;
}

// A shared-memory stream whose own pace fell below half its median for more than this share of
// its measured time (Measurement::slow_share) did not run at one pace: the host slowed it down
// mid-run, which the floors measured next to it need not see, or it switched to a slower mode.
// In six floors-suite runs on a 2-vCPU AMD EPYC guest, 70 of 72 spinning 4 KiB-1 MiB streams
// ran 0.1-8% of their time below half their median pace; the two others 35% (a 1 MiB stream at
// 0.53x its ceiling, both ceilings next to it within 11%) and 42%. A 64 B stream read 38-39% in
// three default-suite runs out of three: its two paces lie more than 2x apart.
constexpr double kSlowShareTolerance = 0.15;

// Marks such a result's ratio unsettled, as check_drift does, unless it is unsettled already or
// above its ceiling (a slower pace cannot explain that). Only a spinning shared-memory stream: a
// blocking waiter's pace comes in bursts of a ring at a time, and a kernel channel's in bursts of
// its buffer (busy-polled pipes and sockets read 17-43% at 64 KiB and 1 MiB).
void check_steady(benchmark::State& state, const BenchSpec& spec, int rep, const Measurement& m,
                  RunTally& tally) {
  if (m.slow_share <= kSlowShareTolerance || m.wait_mode != "spin" || m.ring_bytes == 0) return;
  if (state.counters.find("ratio_to_floor") == state.counters.end()) return;  // nothing judged
  const auto key = std::make_pair(spec.name(), rep);
  if (tally.floor_unsettled.count(key) != 0 || tally.below_floor.count(key) != 0) return;
  state.counters["floor_unsettled"] = 1;
  char line[320];
  std::snprintf(line, sizeof line,
                "%s: %.0f%% of its measured time ran below half its median pace (the host slowed "
                "it down mid-run, or it switched to a slower mode): ratio not judged",
                spec.name().c_str(), m.slow_share * 100);
  tally.floor_unsettled[key] = line;
}

// A result below its floor has the floor measured again, up to kRechecks times while `below`
// (given each new measurement) says it stays below. On a VM the host has slow spells (on a 2-vCPU
// EPYC guest, a 1 MiB copy at a quarter of its speed; one loop's consecutive 0.25 s runs went in
// and out of them), and one floor measurement can fall in one.
// The result's floor_rechecks counter says how many were taken.
template <typename Below>
void recheck_while_below(benchmark::State& state, const BenchSpec& spec, const FloorParts& parts,
                         RunTally& tally, Below&& below) {
  for (int k = 1; k <= kRechecks; ++k) {
    Floors again = measure_floors(spec.placement, {spec.payload_bytes}, kRecheckBudgetS, parts);
    if (!again.error.empty()) return;
    keep_fastest(tally.fastest_floors[spec.placement.name], again);
    state.counters["floor_rechecks"] = k;
    if (!below(again)) return;
  }
}

void run_one(benchmark::State& state, const BenchSpec& spec, int rep,
             const std::vector<int>& all_cpus, Floors* floors, double each_budget_s,
             double self_sized_s, RunTally& tally) {
  const WorkloadInfo* w = find_workload(spec.workload);
  auto fail = [&](const std::string& msg) {
    tally.failures.push_back(spec.name() + ": " + msg);
    tally.failed.insert(spec.name());
    state.SkipWithError(msg.c_str());
  };
  if (tally.failed.count(spec.name())) {
    // It failed already (the reason is listed once); more repetitions would only cost time.
    state.SkipWithError("not run: an earlier repetition of this benchmark failed");
    return;
  }
  // The measured thread runs where the placement says; peers are pinned by their own side
  // (or, when free, inherit the whole allowed set from this thread).
  auto pinned = spec.placement.cpu_self >= 0 ? sys::pin_to_cpu(0, spec.placement.cpu_self)
                                             : sys::pin_to_cpus(0, all_cpus);
  if (!pinned) return fail(pinned.error().message());
  // The floor right before the result (with the one after it: did the machine change speed?),
  // measured before the peer exists. Which hand-off bounds a ping-pong is known only once it
  // ran (a blocking or a polling wait): both are measured.
  std::optional<Floors> before;
  if (floors != nullptr && each_budget_s > 0) {
    before = measure_floors(spec.placement, {spec.payload_bytes}, each_budget_s,
                            floor_parts_for(spec.workload, "block"));
    keep_fastest(tally.fastest_floors[spec.placement.name], *before);
  }
  auto session = Session::start(spec, w->peer_role, w->one_write);
  if (!session) return fail(session.error().message());
  StateLoop state_loop(state);
  TimedLoop timed_loop(state, self_sized_s);
  Loop& loop = self_sized_s > 0 ? static_cast<Loop&>(timed_loop) : state_loop;
  auto m = w->measure(**session, loop);
  if (!m) return fail((*session)->with_peer_state(m.error()).message());
  if (self_sized_s > 0) tally.measured_iterations[{spec.name(), rep}] = m->iterations;
  set_percentiles(state, "latency", m->latency);
  if (m->has_rtt) set_percentiles(state, "rtt", m->rtt);
  nlohmann::json& hist = tally.histograms[{spec.name(), rep}];
  hist = {
      {"name", spec.name()}, {"repetition_index", rep}, {"latency", histogram_to_json(m->latency)}};
  if (m->has_rtt) hist["rtt"] = histogram_to_json(m->rtt);
  if (m->has_uncorrected) hist["uncorrected"] = histogram_to_json(m->uncorrected);
  state.counters["latency_samples"] = static_cast<double>(m->latency.count());
  state.counters["latency_sample_every"] = static_cast<double>(m->sample_every);
  if (m->slow_share >= 0) state.counters["slow_share"] = m->slow_share;
  if (m->steady_bytes_per_second > 0) {
    state.counters["steady_bytes_per_second"] = m->steady_bytes_per_second;
  }
  // Rates are computed from our own elapsed time, the same the manual timer was given.
  state.counters["bytes_per_second"] = rate(m->payload_bytes, m->elapsed_ns);
  state.counters["items_per_second"] = rate(m->messages, m->elapsed_ns);
  state.counters["messages"] = static_cast<double>(m->messages);
  state.counters["verified"] = static_cast<double>(m->verified);
  state.counters["errors"] = static_cast<double>(m->errors);
  set_fairness(state, spec, *m);
  if (floors != nullptr && each_budget_s > 0) {
    // The floor next to this result: the peer is gone first (a spinning peer would share the
    // reference threads' CPU), then the reference loops run where the benchmark ran.
    session->reset();
    const FloorParts parts = floor_parts_for(spec.workload, m->wait_mode);
    Floors here = measure_floors(spec.placement, {spec.payload_bytes}, each_budget_s, parts);
    keep_fastest(tally.fastest_floors[spec.placement.name], here);
    if (here.error.empty()) {
      tally.fields[spec.name()]["floor_measured"] = "after the benchmark";
      if (set_floor(state, spec, rep, *m, &here, tally)) {
        recheck_while_below(state, spec, parts, tally, [&](Floors& again) {
          here = std::move(again);
          return set_floor(state, spec, rep, *m, &here, tally);
        });
      }
      if (before && before->error.empty()) {
        check_drift(state, spec, rep, *m, *before, here, tally);
        check_faster_than_its_floors(state, spec, rep, *m, *before, here, tally);
      }
    } else {
      set_floor(state, spec, rep, *m, floors, tally);
    }
  } else if (set_floor(state, spec, rep, *m, floors, tally)) {
    // Below the floor measured earlier in the run. On a VM the host moves the vCPUs, and the
    // same hand-off or copy gets several times faster or slower for minutes: before calling the
    // result impossible, measure what bounds it again, here, and keep the fresher floor for the
    // benchmarks that follow (recheck_while_below).
    session->reset();
    const FloorParts parts = floor_parts_for(spec.workload, m->wait_mode);
    recheck_while_below(state, spec, parts, tally, [&](const Floors& again) {
      update_floors(*floors, again, parts);
      tally.fields[spec.name()]["floor_measured"] =
          "again after the benchmark (it was below the run's earlier floor)";
      tally.floors_rechecked.insert(spec.name());
      return set_floor(state, spec, rep, *m, floors, tally);
    });
  }
  check_steady(state, spec, rep, *m, tally);
  tally.fields[spec.name()]["wait_mode"] = m->wait_mode;
  tally.fields[spec.name()]["writes_per_message"] =
      m->broadcast ? "one write for every peer" : "one write per peer";
  if (m->errors != 0) {
    fail("verification failed: " + std::to_string(m->errors) + " errors; first: " + m->first_error);
  } else if (uint64_t expected = m->has_rtt ? m->iterations : m->messages;
             spec.verify != VerifyMode::kOff && m->verified != expected) {
    fail("only " + std::to_string(m->verified) + " of " + std::to_string(expected) + " measured " +
         (m->has_rtt ? "round trips" : "messages") + " were verified");
  }
}

}  // namespace

void register_benchmarks(const std::vector<BenchSpec>& specs, int repetitions,
                         std::vector<Floors>& floors, double each_budget_s, RunTally& tally,
                         uint64_t iterations, double min_time_s) {
  std::vector<int> all_cpus = sys::allowed_cpus();  // before any benchmark pins this thread
  for (const Floors& f : floors) keep_fastest(tally.fastest_floors[f.placement], f);
  for (const BenchSpec& spec : specs) {
    tally.fields[spec.name()] = describe(spec);
    auto f = std::find_if(floors.begin(), floors.end(),
                          [&](const Floors& x) { return x.placement == spec.placement.name; });
    Floors* fl = f == floors.end() ? nullptr : &*f;
    const WorkloadInfo* w = find_workload(spec.workload);
    const double self_sized_s = iterations == 0 && spec.fixed_iterations == 0 && min_time_s > 0 &&
                                        w != nullptr && !w->count_up_front
                                    ? min_time_s
                                    : 0;
    for (int rep = 0; rep < repetitions; ++rep) {
      auto* b = benchmark::RegisterBenchmark(
          spec.name().c_str(),
          [spec, rep, all_cpus, fl, each_budget_s, self_sized_s, &tally](benchmark::State& st) {
            run_one(st, spec, rep, all_cpus, fl, each_budget_s, self_sized_s, tally);
          });
      b->UseManualTime()->Unit(benchmark::kMicrosecond);
      const uint64_t n = self_sized_s > 0  ? 1
                         : iterations != 0 ? iterations
                                           : spec.fixed_iterations;
      if (n != 0) b->Iterations(static_cast<benchmark::IterationCount>(n));
    }
  }
}

void set_measured_iterations(nlohmann::json& bench, const RunTally& tally) {
  if (tally.measured_iterations.empty() || !bench.contains("benchmarks")) return;
  std::map<std::string, int> seen;  // repetitions run in order, each a run of its own
  for (auto& b : bench["benchmarks"]) {
    if (b.value("run_type", std::string()) != "iteration" || !b.contains("name")) continue;
    std::string name = b["name"].get<std::string>();
    const std::string suffix = "/manual_time";
    if (name.size() > suffix.size() && name.ends_with(suffix))
      name.resize(name.size() - suffix.size());
    auto it = tally.measured_iterations.find({name, seen[name]++});
    if (it != tally.measured_iterations.end()) b["iterations"] = it->second;
  }
}

}  // namespace ipcb
