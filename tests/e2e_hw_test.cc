// End to end through the real binary: perf counters per message for both sides (context
// switches checked against getrusage's count for the same interval, the task clock against the
// wall time of a spinning and a blocking ping-pong; hardware events present or
// absent exactly as the run's context says, never zero), no counters without --perf, and the
// topology placements: on fixture trees of other machines (--topology-root with --dry-run) and on
// this machine for real, where every result runs on the CPUs its placement names.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;

class E2EHw : public RunFolders {
 protected:
  nlohmann::json bench() const { return nlohmann::json::parse(read_file(out_ + "/bench.json")); }
};

std::string fixture(const std::string& name) {
  return std::string(IPCBENCH_TOPOLOGY_FIXTURES) + "/" + name;
}

std::string counter(const std::string& event, const std::string& side) {
  return event + "_" + side + (event == "task_clock" ? "_ns_per_msg" : "_per_msg");
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST_F(E2EHw, SoftwareCountersPerMessageOnBothSides) {
  Outcome o = run_ipcbench({"run", "--workload", "pingpong", "--backend", "pipe,posix_shm",
                            "--sync", "block,spin", "--size", "64", "--placement", "cross",
                            "--iterations", "3000", "--no-floors", "--perf", "--out", out_},
                           env_, 120);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(count_of(o.out, "perf: counting per message, both sides: "), 1u) << o.out;
  auto j = bench();
  const auto& perf = j["context"]["perf"];
  ASSERT_TRUE(perf["enabled"].get<bool>());
  EXPECT_EQ(j["context"]["ipcbench_config"]["perf"], "on");
  std::set<std::string> counted = perf["counted"], absent;
  for (const auto& [name, why] : perf["absent"].items()) {
    absent.insert(name);
    EXPECT_NE(why.get<std::string>().find("perf_event_open E"), std::string::npos) << name;
    EXPECT_NE(o.out.find(name), std::string::npos) << "the run names absent " << name;
  }
  EXPECT_EQ(counted.size() + absent.size(), 11u);  // 8 events and 3 totals
  int checked = 0;
  for (const auto& b : j["benchmarks"]) {
    const std::string name = b["run_name"];
    SCOPED_TRACE(name);
    ASSERT_FALSE(b.value("error_occurred", false)) << b.value("error_message", "");
    for (const auto& side : {"self", "peer"}) {
      for (const auto& e : counted) EXPECT_TRUE(b.contains(counter(e, side))) << e;
      for (const auto& e : absent) EXPECT_FALSE(b.contains(counter(e, side))) << e;
    }
    const double msgs = b["messages"].get<double>();
    ASSERT_EQ(b["time_unit"], "us");
    for (const std::string side : {"self", "peer"}) {
      if (counted.count("ctxsw")) {  // the same interval, counted twice by the kernel
        const double rusage = b["vcsw_" + side + "_per_msg"].get<double>() +
                              b["ivcsw_" + side + "_per_msg"].get<double>();
        EXPECT_NEAR(b[counter("ctxsw", side)].get<double>() * msgs, rusage * msgs, 4) << side;
      }
      if (counted.count("task_clock")) {
        // Wall time per message of the measured phase (real_time: us per round trip). A
        // spinning side is on its CPU all the time; a blocking one sleeps for most of it.
        // (getrusage is no reference here: a thread that never sleeps has its sum updated only
        // at the scheduler tick, so over a few ms it reads 0.)
        const double wall =
            b["real_time"].get<double>() * 1e3 * b["iterations"].get<double>() / msgs;
        const double tc = b[counter("task_clock", side)].get<double>();
        if (name.find("/spin/") != std::string::npos) {
          EXPECT_GT(tc, 0.7 * wall) << side << ", wall " << wall;
          EXPECT_LT(tc, 1.3 * wall) << side << ", wall " << wall;
        } else {
          EXPECT_GT(tc, 0.0) << side;
          EXPECT_LT(tc, 0.9 * wall) << side << ", wall " << wall;
        }
      }
      if (counted.count("pagefaults")) {
        EXPECT_NEAR(b[counter("pagefaults", side)].get<double>(),
                    b[counter("pagefaults_user", side)].get<double>() +
                        b[counter("pagefaults_kernel", side)].get<double>(),
                    1e-9);
      }
    }
    if (counted.count("ctxsw")) {
      // A blocking ping-pong across CPUs sleeps for (nearly) every echo; a spinning one does not.
      if (name.find("/block/") != std::string::npos) {
        EXPECT_GE(b["ctxsw_self_per_msg"].get<double>(), 0.25);
        EXPECT_GE(b["ctxsw_peer_per_msg"].get<double>(), 0.25);
      } else {
        EXPECT_LT(b["ctxsw_self_per_msg"].get<double>(), 0.1);
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

// Counting is opt-in (it makes every context switch dearer): without --perf nothing is
// counted or said, and the context and comparability key say it was off.
TEST_F(E2EHw, WithoutPerfNoPerfCounters) {
  Outcome o = run_ipcbench({"run", "--workload", "pingpong", "--backend", "pipe", "--sync", "block",
                            "--size", "64", "--iterations", "200", "--no-floors", "--out", out_},
                           env_, 60);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(o.out.find("perf:"), std::string::npos) << o.out;
  auto j = bench();
  EXPECT_FALSE(j["context"]["perf"]["enabled"].get<bool>());
  EXPECT_EQ(j["context"]["comparability"]["perf"], "off");
  for (const auto& b : j["benchmarks"]) {
    for (const auto& [k, v] : b.items()) {
      EXPECT_EQ(k.find("ctxsw_"), std::string::npos) << k;
      EXPECT_EQ(k.find("task_clock_"), std::string::npos) << k;
      EXPECT_EQ(k.find("pagefaults"), std::string::npos) << k;
    }
  }
}

// The benchmarks a --dry-run lists (lines that are names).
std::vector<std::string> listed(const std::string& out) {
  static const std::regex kName("^pingpong/[^ ]+$");
  std::vector<std::string> names;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (std::regex_match(line, kName)) names.push_back(line);
  }
  return names;
}

std::vector<std::string> dry_run(const std::string& machine, const std::string& placements,
                                 Outcome* o) {
  *o = run_ipcbench(
      {"run", "--workload", "pingpong", "--backend", "pipe", "--sync", "block", "--size", "64",
       "--placement", placements, "--topology-root", fixture(machine), "--dry-run"},
      {}, 30);
  return listed(o->out);
}

TEST_F(E2EHw, TopologyPlacementsOnOtherMachines) {
  Outcome o;
  auto names = dry_run("two_llcs", "smt,core,llc,socket,numa", &o);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_EQ(names, (std::vector<std::string>{"pingpong/pipe/block/64/core",
                                             "pingpong/pipe/block/64/llc"}));
  EXPECT_NE(o.out.find("placement smt is unavailable: no core has two hardware threads"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("placement socket is unavailable: one package"), std::string::npos);
  EXPECT_NE(o.out.find("placement numa is unavailable: one NUMA node"), std::string::npos);

  names = dry_run("smt_on", "all-pairs", &o);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  ASSERT_EQ(names.size(), 28u) << o.out;  // 8 CPUs: every pair once
  EXPECT_EQ(names.front(), "pingpong/pipe/block/64/cpu0-cpu1");
  EXPECT_EQ(names.back(), "pingpong/pipe/block/64/cpu6-cpu7");

  names = dry_run("two_sockets", "cross,socket,numa,smt", &o);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(names.size(), 3u) << o.out;
  EXPECT_EQ(count_of(o.out, "is unavailable"), 1u) << o.out;

  // --suite topology: three hand-offs on each placement the machine has, and the heatmap.
  o = run_ipcbench(
      {"run", "--suite", "topology", "--topology-root", fixture("two_llcs"), "--dry-run"}, {}, 30);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  std::vector<std::string> want;
  for (const char* p : {"core", "llc"}) {
    for (const char* m : {"posix_shm/spin", "posix_shm/futex", "pipe/block"}) {
      want.push_back(std::string("pingpong/") + m + "/64/" + p);
    }
  }
  for (const char* pair :
       {"cpu0-cpu1", "cpu0-cpu2", "cpu0-cpu3", "cpu1-cpu2", "cpu1-cpu3", "cpu2-cpu3"}) {
    want.push_back(std::string("pingpong/posix_shm/spin/64/") + pair);
  }
  names = listed(o.out);
  std::sort(names.begin(), names.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want) << o.out;
  EXPECT_EQ(count_of(o.out, "is unavailable"), 3u) << o.out;  // smt, socket, numa
}

// Only placements this machine does not allow: exit 2, one line naming each reason.
TEST_F(E2EHw, OnlyUnavailablePlacementsIsBadInput) {
  Outcome o;
  dry_run("vm2", "llc,socket", &o);
  EXPECT_EQ(o.exit_code, 2) << o.out;
  EXPECT_NE(o.err.find("nothing to run on this machine: placement llc is unavailable: each "
                       "package has one last-level cache (L3 0-1); placement socket is "
                       "unavailable: one package"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(count_of(o.err, "\n"), 1u) << o.err;
  dry_run("cpuset", "socket", &o);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("CPUs 0 and 2 would be, but this process may use only CPUs 0-1"),
            std::string::npos)
      << o.err;
}

TEST_F(E2EHw, TopologyCommandShowsTheMachine) {
  Outcome o = run_ipcbench({"topology", "--root", fixture("two_sockets")}, {}, 10);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("2 packages, 2 NUMA nodes, 2 LLCs (L3), 4 cores x 1 thread"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("  socket      CPU 0, CPU 2\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("  all-pairs   6 pairs cpu0-cpu1"), std::string::npos) << o.out;
  o = run_ipcbench({"topology", "--root", fixture("no-such-machine")}, {}, 10);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_NE(o.err.find("no cpuN directory"), std::string::npos) << o.err;
}

// On this machine: every placement it allows runs where `ipcbench topology` says, the context
// records the topology (in the comparability key too), and the others are named with why.
TEST_F(E2EHw, TopologyPlacementsRunWhereTheyAreAndAreRecorded) {
  Outcome t = run_ipcbench({"topology", "--json"}, {}, 10);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto topo = nlohmann::json::parse(t.out);
  std::string asked;
  std::map<std::string, std::pair<int, int>> where;
  std::vector<std::string> unavailable;
  for (const auto& [name, p] : topo["placements"].items()) {
    asked += (asked.empty() ? "" : ",") + name;
    if (!p["available"].get<bool>()) {
      unavailable.push_back(name);
    } else if (name != "all-pairs") {
      where[name] = {p["cpus"][0].get<int>(), p["cpus"][1].get<int>()};
    }
  }
  if (where.empty()) GTEST_SKIP() << "this machine allows no topology placement: " << t.out;
  Outcome o = run_ipcbench(
      {"run", "--workload", "pingpong", "--backend", "posix_shm", "--sync", "futex", "--size", "64",
       "--placement", asked, "--iterations", "300", "--no-floors", "--out", out_},
      env_, 120);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  for (const auto& u : unavailable) {
    EXPECT_NE(o.out.find("placement " + u + " is unavailable: "), std::string::npos) << u;
  }
  auto j = bench();
  EXPECT_EQ(j["context"]["topology"]["summary"], topo["summary"]);
  EXPECT_EQ(j["context"]["comparability"]["topology"], topo["summary"]);
  EXPECT_EQ(j["context"]["topology"]["placements"], topo["placements"]);
  std::set<std::string> ran;
  size_t pairs = 0;
  for (const auto& b : j["benchmarks"]) {
    ASSERT_FALSE(b.value("error_occurred", false)) << b.value("error_message", "");
    const std::string p = b["placement"];
    ran.insert(p);
    if (p.rfind("cpu", 0) == 0) {
      ++pairs;
      EXPECT_EQ(p, "cpu" + std::to_string(b["cpu_self"].get<int>()) + "-cpu" +
                       std::to_string(b["cpu_peer"].get<int>()));
      continue;
    }
    ASSERT_TRUE(where.count(p)) << p;
    EXPECT_EQ(b["cpu_self"].get<int>(), where[p].first) << p;
    EXPECT_EQ(b["cpu_peer"].get<int>(), where[p].second) << p;
  }
  for (const auto& [name, cpus] : where) EXPECT_TRUE(ran.count(name)) << name;
  if (topo["placements"]["all-pairs"]["available"].get<bool>()) {
    EXPECT_EQ(pairs, topo["placements"]["all-pairs"]["pairs"].get<size_t>());
  }
}

}  // namespace
}  // namespace ipcb::test
