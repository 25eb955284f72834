// perf_event_open counters of one thread (see perf_counters.h).
#include "harness/run/perf_counters.h"

#include <linux/perf_event.h>

#include <algorithm>
#include <cstring>

#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

constexpr sys::PerfEventSpec hw(uint64_t config, bool user) {
  return {PERF_TYPE_HARDWARE, config, !user, user};
}
constexpr sys::PerfEventSpec sw(uint64_t config, bool exclude_user, bool exclude_kernel) {
  return {PERF_TYPE_SOFTWARE, config, exclude_user, exclude_kernel};
}

// A part and the total it belongs to.
struct Part {
  const char* part;
  const char* total;
};
constexpr Part kParts[] = {{"instructions_user", "instructions"},
                           {"instructions_kernel", "instructions"},
                           {"cycles_user", "cycles"},
                           {"cycles_kernel", "cycles"},
                           {"pagefaults_user", "pagefaults"},
                           {"pagefaults_kernel", "pagefaults"}};

// The event sources this kernel has (/sys/bus/event_source/devices), for the "no PMU" reason.
std::string event_sources() {
  std::vector<std::string> names;
  if (auto all = sys::list_directory("/sys/bus/event_source/devices")) {
    for (auto& n : *all) {
      if (n[0] != '.') names.push_back(std::move(n));
    }
  }
  std::sort(names.begin(), names.end());
  std::string s;
  for (const auto& n : names) s.append(s.empty() ? "" : ", ").append(n);
  return s.empty() ? "none readable" : s;
}

}  // namespace

const std::vector<PerfEventInfo>& perf_events() {
  static const std::vector<PerfEventInfo> kAll = {
      {"instructions_user", "instructions retired in user mode",
       hw(PERF_COUNT_HW_INSTRUCTIONS, true), true},
      {"instructions_kernel", "instructions retired in the kernel",
       hw(PERF_COUNT_HW_INSTRUCTIONS, false), true},
      {"cycles_user", "CPU cycles in user mode", hw(PERF_COUNT_HW_CPU_CYCLES, true), true},
      {"cycles_kernel", "CPU cycles in the kernel", hw(PERF_COUNT_HW_CPU_CYCLES, false), true},
      // A context switch happens in the kernel: only an event that counts kernel mode sees it.
      {"ctxsw", "context switches (voluntary and involuntary)",
       sw(PERF_COUNT_SW_CONTEXT_SWITCHES, false, false), false},
      {"pagefaults_user", "page faults taken by user-mode accesses",
       sw(PERF_COUNT_SW_PAGE_FAULTS, false, true), false},
      {"pagefaults_kernel", "page faults taken in the kernel (copies to or from user memory)",
       sw(PERF_COUNT_SW_PAGE_FAULTS, true, false), false},
      {"task_clock", "time on a CPU, ns (the kernel does not split it by mode)",
       sw(PERF_COUNT_SW_TASK_CLOCK, false, false), false},
  };
  return kAll;
}

const std::vector<std::string>& perf_totals() {
  static const std::vector<std::string> kTotals = {"instructions", "cycles", "pagefaults"};
  return kTotals;
}

void perf_add(PerfCounts& a, const PerfCounts& b) {
  for (auto it = a.begin(); it != a.end();) {
    auto o = b.find(it->first);
    if (o == b.end()) {
      it = a.erase(it);
    } else {
      it->second += o->second;
      ++it;
    }
  }
}

std::string perf_failure_reason(const Error& e, bool hardware, bool counts_kernel) {
  const char* name = e.err != 0 ? ::strerrorname_np(e.err) : nullptr;
  std::string head = "perf_event_open " + std::string(name ? name : "failed") + " (" +
                     (e.err != 0 ? std::strerror(e.err) : e.message()) + "): ";
  auto paranoid = sys::perf_event_paranoid();
  std::string p = paranoid ? std::to_string(*paranoid) : std::string("unreadable");
  switch (e.err) {
    case EACCES:
    case EPERM:
      if (paranoid && *paranoid >= 3) {
        return head + "kernel.perf_event_paranoid = " + p +
               " forbids perf events to users without CAP_PERFMON";
      }
      if (counts_kernel && paranoid && *paranoid >= 2) {
        return head + "kernel.perf_event_paranoid = " + p +
               " forbids counting in the kernel without CAP_PERFMON (it needs <= 1: sysctl -w "
               "kernel.perf_event_paranoid=1)";
      }
      return head + "refused for this user (kernel.perf_event_paranoid = " + p +
             "; a seccomp filter or security module may also forbid it)";
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
      if (hardware) {
        return head +
               "no PMU counts hardware events here (a VM without a virtual PMU has "
               "none); event sources: " +
               event_sources();
      }
      return head + "this kernel does not have this software event";
    case ENOSYS:
      return head +
             "the kernel has no perf events (built without CONFIG_PERF_EVENTS) or a "
             "seccomp filter blocks the call, as some container runtimes do";
    default:
      return head + e.message();
  }
}

PerfCounters PerfCounters::open_for_thread() {
  PerfCounters c;
  for (const auto& ev : perf_events()) {
    auto fd = sys::perf_open_thread(ev.spec, ev.name);
    if (!fd && std::strcmp(ev.name, "task_clock") == 0 &&
        (fd.error().err == EACCES || fd.error().err == EPERM)) {
      // The task clock is the thread's time on a CPU whatever the exclude flags say; asking
      // for user mode only is what perf_event_paranoid 2 allows an unprivileged user.
      sys::PerfEventSpec user = ev.spec;
      user.exclude_kernel = true;
      fd = sys::perf_open_thread(user, ev.name);
    }
    if (fd) {
      c.fds_.emplace(ev.name, std::move(*fd));
    } else {
      c.absent_[ev.name] = perf_failure_reason(fd.error(), ev.hardware, !ev.spec.exclude_kernel);
    }
  }
  return c;
}

PerfCounters::Reading PerfCounters::read() const {
  Reading r;
  for (const auto& [name, fd] : fds_) {
    auto v = sys::perf_read(fd.get(), name);
    if (v) r.emplace(name, *v);
  }
  return r;
}

PerfCounts perf_delta(const PerfCounters::Reading& before, const PerfCounters::Reading& after) {
  PerfCounts out;
  for (const auto& [name, b] : before) {
    auto a = after.find(name);
    if (a == after.end() || a->second.value < b.value) continue;
    const uint64_t running = a->second.running_ns - b.running_ns;
    const uint64_t enabled = a->second.enabled_ns - b.enabled_ns;
    if (running == 0) continue;  // never on a counter: nothing is known
    double v = static_cast<double>(a->second.value - b.value);
    if (enabled > running) v *= static_cast<double>(enabled) / static_cast<double>(running);
    out[name] = v;
  }
  for (const auto& total : perf_totals()) {
    auto u = out.find(total + "_user"), k = out.find(total + "_kernel");
    if (u != out.end() && k != out.end()) out[total] = u->second + k->second;
  }
  return out;
}

PerfSupport probe_perf_support(bool enabled) {
  PerfSupport s;
  s.enabled = enabled;
  s.paranoid = sys::perf_event_paranoid();
  if (!enabled) return s;
  PerfCounters c = PerfCounters::open_for_thread();
  for (const auto& ev : perf_events()) {
    auto a = c.absent().find(ev.name);
    if (a == c.absent().end()) {
      s.counted.push_back(ev.name);
    } else {
      s.absent[ev.name] = a->second;
    }
  }
  for (const auto& total : perf_totals()) {
    std::string why;
    for (const auto& p : kParts) {
      if (total == p.total && s.absent.count(p.part) && why.empty()) why = s.absent[p.part];
    }
    if (why.empty()) {
      s.counted.push_back(total);
    } else {
      s.absent[total] = why;
    }
  }
  return s;
}

nlohmann::json PerfSupport::to_json() const {
  nlohmann::json events = nlohmann::json::object();
  for (const auto& ev : perf_events()) events[ev.name] = ev.what;
  return {{"enabled", enabled},
          {"perf_event_paranoid", paranoid ? nlohmann::json(*paranoid) : nlohmann::json()},
          {"counted", counted},
          {"absent", absent},
          {"events", events}};
}

std::vector<std::string> PerfSupport::lines() const {
  if (!enabled) return {};  // not asked for (--perf): nothing to say
  std::vector<std::pair<std::string, std::string>> by_reason;  // reason -> names, in order
  for (const auto& ev : perf_events()) {
    auto a = absent.find(ev.name);
    if (a == absent.end()) continue;
    auto it = std::find_if(by_reason.begin(), by_reason.end(),
                           [&](const auto& r) { return r.first == a->second; });
    if (it == by_reason.end()) {
      by_reason.emplace_back(a->second, ev.name);
    } else {
      it->second += std::string(", ") + ev.name;
    }
  }
  std::vector<std::string> out;
  for (const auto& [reason, names] : by_reason) {
    out.push_back("perf: " + names + " absent (and totals made of them): " + reason);
  }
  std::string c;
  for (const auto& n : counted) c.append(c.empty() ? "" : ", ").append(n);
  out.push_back("perf: counting per message, both sides: " + (c.empty() ? "nothing" : c));
  return out;
}

std::string perf_counter_name(const std::string& event, const std::string& side) {
  return event + "_" + side + (event == "task_clock" ? "_ns_per_msg" : "_per_msg");
}

nlohmann::json perf_counts_to_json(const PerfCounts& c) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : c) j[k] = v;
  return j;
}

Result<PerfCounts> perf_counts_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return plain_error("perf counts", "expected an object");
  PerfCounts c;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_number()) return plain_error("perf counts", "'" + k + "' is not a number");
    c[k] = v.get<double>();
  }
  return c;
}

}  // namespace ipcb
