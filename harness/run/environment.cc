// Environment capture (see environment.h). Platform facts are read here and nowhere else.
#include "harness/run/environment.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <xxhash.h>

#include <cstdio>
#include <fstream>

#include "harness/run/tick_clock.h"
#include "harness/sys/sys.h"
#include "harness/sys/sys_kernel.h"

#ifndef IPCBENCH_BUILD_TYPE
#define IPCBENCH_BUILD_TYPE "unknown"
#endif

namespace ipcb {
namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

}  // namespace

uint64_t timer_cost_ns() {
  static const uint64_t cost = [] {
    constexpr int kReads = 200000;
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 5; ++round) {  // best of 5: the cost, not the noise
      uint64_t t0 = sys::now_ns();
      uint64_t sink = 0;
      for (int i = 0; i < kReads; ++i) sink += sys::now_ns();
      uint64_t t1 = sys::now_ns();
      if (sink == 0) t1 += 1;
      best = std::min(best, (t1 - t0) / kReads);
    }
    return best == 0 ? 1 : best;
  }();
  return cost;
}

nlohmann::json capture_environment(const std::vector<Placement>& placements) {
  const utsname u = sys::kernel_uname();
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  nlohmann::json j;
  j["ipcbench_version"] = kVersion;
  j["ipcbench_schema_version"] = kSchemaVersion;
  j["kernel"] = std::string(u.sysname) + " " + u.release;
  j["kernel_version"] = u.version;
  j["machine"] = u.machine;
  j["hostname"] = host;
  j["cpu_model"] = cpu_model();
  j["cpu_count_online"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  j["cpus_allowed"] = sys::allowed_cpus();
  std::string gov = sys::read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  j["cpu_governor"] = gov.empty() ? "unavailable" : gov;
  j["clocksource"] =
      sys::read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  j["timer"] = "clock_gettime(CLOCK_MONOTONIC)";
  j["timer_cost_ns"] = timer_cost_ns();
  // Pingpong times each round trip with this one (see tick_clock.h).
  j["round_trip_timer"] = TickClock::best().name();
  j["round_trip_timer_step_ns"] = TickClock::best().step_ns();
  j["build_type"] = IPCBENCH_BUILD_TYPE;
  // "placement" names the one placement of the run, or "mixed" when a suite sweeps them; every
  // result also carries its own placement and CPUs.
  j["placement"] = placements.size() == 1 ? placements[0].name : "mixed";
  j["placements"] = nlohmann::json::array();
  for (const auto& p : placements) {
    j["placements"].push_back(
        {{"name", p.name}, {"cpu_measured_side", p.cpu_self}, {"cpu_peer", p.cpu_peer}});
  }
  j["page_size"] = ::sysconf(_SC_PAGESIZE);
  std::string smt = sys::read_first_line("/sys/devices/system/cpu/smt/active");
  j["smt"] = smt.empty() ? "unknown" : smt == "1" ? "on" : "off";
  std::string thp = sys::read_first_line("/sys/kernel/mm/transparent_hugepage/enabled");
  j["transparent_hugepages"] = thp.empty() ? "unknown" : thp;
  j["compiler"] = std::string("g++ ") + __VERSION__;
  return j;
}

void add_comparability(nlohmann::json& env, const nlohmann::json& config) {
  nlohmann::json c;
  for (const char* k :
       {"cpu_model", "cpu_count_online", "cpus_allowed", "kernel", "machine", "cpu_governor",
        "clocksource", "smt", "transparent_hugepages", "placements", "build_type", "compiler"}) {
    c[k] = env.value(k, nlohmann::json());
  }
  // The CPU topology, as one line (packages, NUMA nodes, LLCs, cores x threads, usable CPUs).
  if (env.contains("topology") && env["topology"].contains("summary")) {
    c["topology"] = env["topology"]["summary"];
  }
  for (const char* k :
       {"suite", "matrices", "verify", "min_time_s", "repetitions", "stall_ms", "fan", "sleep_us",
        "spin_us", "mmap_dir", "inject_ns", "inject_filter", "perf"}) {
    c[k] = config.value(k, nlohmann::json());
  }
  std::string text = c.dump();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  env["comparability"] = c;
  env["comparability_key"] = hex;
}

}  // namespace ipcb
