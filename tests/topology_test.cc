// The topology reader and the placements it allows, on sysfs trees of machines this one is not
// (tests/topology/fixtures, made by tests/topology/make_fixtures.py): SMT on and off, two
// sockets, two LLCs in one package, offline CPUs, a restricted cpuset, a 2-vCPU VM, a kernel
// without NUMA or cache information; and on this machine against what the kernel says.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "harness/run/topology.h"
#include "harness/sys/sys.h"

namespace ipcb {
namespace {

std::string fixture(const std::string& name) {
  return std::string(IPCBENCH_TOPOLOGY_FIXTURES) + "/" + name;
}

// What a fixture machine must give: its summary, and per placement the pair of CPUs
// ("0,4") or a part of the reason it is unavailable ("!SMT is switched off").
struct Case {
  const char* machine;
  const char* summary;
  std::map<std::string, std::string> expect;
  size_t pairs;  // all-pairs
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.machine;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kAll = {
      {"smt_on",
       "1 package, 1 NUMA node, 1 LLC (L3), 4 cores x 2 threads, 8 online CPUs; usable 0-7",
       {{"smt", "0,4"},
        {"core", "0,1"},
        {"llc", "!each package has one last-level cache (L3 0-7)"},
        {"socket", "!one package (physical_package_id 0) holds every online CPU"},
        {"numa", "!one NUMA node (node0) holds every online CPU"}},
       28},
      {"smt_off",
       "1 package, 1 NUMA node, 1 LLC (L3), 4 cores x 1 thread, 4 online CPUs; usable 0-3",
       {{"smt", "!SMT is switched off (smt/control = off)"}, {"core", "0,1"}, {"llc", "!"}},
       6},
      {"two_sockets",
       "2 packages, 2 NUMA nodes, 2 LLCs (L3), 4 cores x 1 thread, 4 online CPUs; usable 0-3",
       {{"smt",
         "!no core has two hardware threads online (smt/active = 0, smt/control = "
         "notsupported)"},
        {"core", "0,1"},
        {"llc", "!each package has one last-level cache (L3 0-1, L3 2-3)"},
        {"socket", "0,2"},
        {"numa", "0,2"}},
       6},
      {"two_llcs",
       "1 package, 1 NUMA node, 2 LLCs (L3), 4 cores x 1 thread, 4 online CPUs; usable 0-3",
       {{"core", "0,1"}, {"llc", "0,2"}, {"socket", "!one package"}, {"numa", "!one NUMA node"}},
       6},
      {"offline",
       "1 package, 1 NUMA node, 1 LLC (L3), 2 cores x 1 thread, 2 online CPUs; usable 0,2",
       {{"core", "0,2"}, {"smt", "!"}},
       1},
      {"cpuset",
       "2 packages, 2 NUMA nodes, 2 LLCs (L3), 4 cores x 1 thread, 4 online CPUs; usable 0-1",
       {{"core", "0,1"},
        {"socket",
         "!CPUs 0 and 2 would be, but this process may use only CPUs 0-1 (its affinity or "
         "cpuset)"},
        {"numa", "!CPUs 0 and 2 would be, but this process may use only CPUs 0-1"}},
       1},
      {"vm2",
       "1 package, 1 NUMA node, 1 LLC (L3), 2 cores x 1 thread, 2 online CPUs; usable 0-1",
       {{"smt", "!no core has two hardware threads"},
        {"core", "0,1"},
        {"llc", "!each package has one last-level cache (L3 0-1)"},
        {"socket", "!one package"},
        {"numa", "!one NUMA node"}},
       1},
      {"nonuma",
       "1 package, NUMA unknown, LLC unknown, 2 cores x 1 thread, 2 online CPUs; usable 0-1",
       {{"numa", "!no NUMA information"},
        {"core", "!no cache information"},
        {"llc", "!no cache information"}},
       1},
  };
  return kAll;
}

class Fixture : public ::testing::TestWithParam<Case> {};

TEST_P(Fixture, ReaderAndPlacementsMatchTheMachine) {
  const Case& c = GetParam();
  auto t = read_topology(fixture(c.machine));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->summary(), c.summary);
  auto plan = plan_placements(*t, t->usable().front());
  ASSERT_EQ(plan.size(), 6u);
  for (const auto& o : plan) {
    SCOPED_TRACE(o.name);
    if (o.name == "all-pairs") {
      ASSERT_EQ(o.placements.size(), c.pairs);
      for (const auto& p : o.placements) {
        EXPECT_LT(p.cpu_self, p.cpu_peer);
        EXPECT_EQ(p.name, "cpu" + std::to_string(p.cpu_self) + "-cpu" + std::to_string(p.cpu_peer));
      }
      continue;
    }
    auto e = c.expect.find(o.name);
    if (e == c.expect.end()) continue;
    if (e->second[0] == '!') {
      EXPECT_TRUE(o.placements.empty());
      EXPECT_NE(o.why.find(e->second.substr(1)), std::string::npos) << o.why;
      EXPECT_FALSE(o.why.empty());
    } else {
      ASSERT_EQ(o.placements.size(), 1u) << o.why;
      EXPECT_EQ(
          std::to_string(o.placements[0].cpu_self) + "," + std::to_string(o.placements[0].cpu_peer),
          e->second);
      EXPECT_EQ(o.placements[0].name, o.name);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Machines, Fixture, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.machine); });

// The measured side stays on the preferred CPU when a pair starting there fits.
TEST(Topology, PlacementPrefersTheMeasuredSidesCpu) {
  auto t = read_topology(fixture("two_sockets"));
  ASSERT_TRUE(t);
  for (const auto& o : plan_placements(*t, 3)) {
    if (o.name == "socket") {
      EXPECT_EQ(o.placements.at(0).cpu_self, 3);
    }
    if (o.name == "core") {
      EXPECT_EQ(o.placements.at(0).cpu_self, 3);
      EXPECT_EQ(o.placements.at(0).cpu_peer, 2);
    }
  }
}

TEST(Topology, OfflineCpusKnowNothingAndAreNotUsable) {
  auto t = read_topology(fixture("offline"));
  ASSERT_TRUE(t);
  ASSERT_EQ(t->cpus.size(), 4u);
  EXPECT_FALSE(t->cpu(1)->online);
  EXPECT_EQ(t->cpu(1)->package, -1);
  EXPECT_EQ(t->cpu(1)->llc, -1);
  EXPECT_TRUE(t->cpu(2)->online);
  EXPECT_EQ(t->usable(), (std::vector<int>{0, 2}));
  EXPECT_EQ(t->to_json()["online"], "0,2");
}

TEST(Topology, MissingTreeIsAnError) {
  auto t = read_topology(fixture("no-such-machine"));
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("no cpuN directory"), std::string::npos);
}

TEST(Topology, CpuListsParseAndPrint) {
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11").value(), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("").value(), std::vector<int>{});
  EXPECT_EQ(parse_cpu_list("5").value(), std::vector<int>{5});
  for (const char* bad : {"a", "1-", "-1", "3-1", "1,,2", "1,", "1 2", "0-99999999"}) {
    EXPECT_FALSE(parse_cpu_list(bad)) << bad;
  }
  EXPECT_EQ(cpu_list_text({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_EQ(cpu_list_text({2, 0}), "0,2");
  EXPECT_EQ(cpu_list_text({}), "");
}

// This machine: the reader agrees with the kernel's own count and this process's affinity.
TEST(Topology, ThisMachineAgreesWithTheKernel) {
  auto t = read_topology("/");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(static_cast<long>(t->online.size()), ::sysconf(_SC_NPROCESSORS_ONLN));
  EXPECT_EQ(t->allowed, sys::allowed_cpus());
  for (int c : t->online) {
    const CpuTopo* cpu = t->cpu(c);
    ASSERT_NE(cpu, nullptr);
    EXPECT_GE(cpu->package, 0) << c;
    EXPECT_NE(std::find(cpu->siblings.begin(), cpu->siblings.end(), c), cpu->siblings.end());
  }
}

}  // namespace
}  // namespace ipcb
