// Hardware and kernel cost per message: perf_event_open counters of one thread (the measured
// side's, and each peer's of its own), read at the start and the end of the measured phase like
// its rusage. Software events (context switches, page faults, task clock) need no PMU; hardware
// events (instructions, cycles) are counted in user and kernel mode separately where the PMU
// and kernel.perf_event_paranoid allow. An event that cannot be counted is ABSENT, with the
// reason, never a zero.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/sys/sys_perf.h"

namespace ipcb {

struct PerfEventInfo {
  const char* name;  // the counter's stem: "<name>_self_per_msg", "<name>_peer_per_msg"
  const char* what;  // what it counts, for the README and the context
  sys::PerfEventSpec spec;
  bool hardware;  // needs a PMU
};
// The counted events: instructions_user, instructions_kernel, cycles_user, cycles_kernel,
// ctxsw, pagefaults_user, pagefaults_kernel, task_clock (ns).
const std::vector<PerfEventInfo>& perf_events();
// The totals made of a user and a kernel part (instructions, cycles, pagefaults), each reported
// only when both parts were counted.
const std::vector<std::string>& perf_totals();

// Counts per event name (and per total), over some interval.
using PerfCounts = std::map<std::string, double>;
// Adds `b` into `a`, keeping only the names both have (a sum over peers is only known when
// every peer counted it).
void perf_add(PerfCounts& a, const PerfCounts& b);

class PerfCounters {
 public:
  PerfCounters() = default;  // counts nothing
  // Opens every event of perf_events() it can for the calling thread; the others are absent().
  static PerfCounters open_for_thread();

  using Reading = std::map<std::string, sys::PerfRead>;
  // The current value of every open event (an event whose read fails is left out).
  Reading read() const;
  // Event name -> why it is not counted.
  const std::map<std::string, std::string>& absent() const { return absent_; }
  bool any() const { return !fds_.empty(); }

 private:
  std::map<std::string, sys::Fd> fds_;
  std::map<std::string, std::string> absent_;
};

// What happened between two readings: each event's count (scaled up by enabled / running when
// the PMU multiplexed it) and the totals whose parts are both there. An event that never ran
// on a counter in between, or is missing from either reading, is left out.
PerfCounts perf_delta(const PerfCounters::Reading& before, const PerfCounters::Reading& after);

// Why perf_event_open refused an event, in words a user can act on: the errno, and the PMU,
// kernel.perf_event_paranoid or kernel build that explains it.
std::string perf_failure_reason(const Error& e, bool hardware, bool counts_kernel);

// The run's view of perf events, found once at its start (the peers run as the same user).
struct PerfSupport {
  bool enabled = true;  // false: run without --perf
  std::optional<int> paranoid;
  std::vector<std::string> counted;           // events and totals counted
  std::map<std::string, std::string> absent;  // events and totals not counted -> why
  nlohmann::json to_json() const;
  // One console line per distinct reason ("perf: NAMES absent: REASON") and one naming what
  // is counted; none when not enabled.
  std::vector<std::string> lines() const;
};
PerfSupport probe_perf_support(bool enabled);

// "ctxsw", "self" -> "ctxsw_self_per_msg"; task_clock (ns) -> "task_clock_self_ns_per_msg".
std::string perf_counter_name(const std::string& event, const std::string& side);

nlohmann::json perf_counts_to_json(const PerfCounts& c);
// Reads what perf_counts_to_json wrote; a value that is not a number is an error.
Result<PerfCounts> perf_counts_from_json(const nlohmann::json& j);

}  // namespace ipcb
