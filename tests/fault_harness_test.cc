// Faults of the harness itself: signals mid-run (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM die
// of that signal and clean up first; SIGKILL leaves records that `ipcbench clean` resolves);
// two runs sharing one --out, and an interrupted run over a good result; a manifest folder
// squatted by another user.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/fault_proc.h"
#include "tests/fault_util.h"
#include "tests/process_util.h"

namespace ipcb::test::fault {
namespace {
namespace fs = std::filesystem;

using FaultHarness = FaultTest;

std::string objects(const std::set<std::string>& left) {
  std::string s;
  for (const auto& l : left) s += "\n  " + l;
  return s;
}

// Signals that end a process by default. sysv_sem's semaphore sets and sysv_msg's queues are
// SysV objects, which outlive every process: only the signal path's cleanup removes them.
class FaultHarnessSignal : public FaultTest, public ::testing::WithParamInterface<int> {};

TEST_P(FaultHarnessSignal, MidRunCleansUpAndDiesOfTheSignal) {
  struct Case {
    int sig;
    const char* backend;
    const char* sync;
  };
  const std::vector<Case> cases = {{GetParam(), "mmap_file", "sysv_sem"},
                                   {GetParam(), "sysv_msg", "block"}};
  in_parallel(cases.size(), 2, [&](size_t i) {
    const Case& c = cases[i];
    const std::string what =
        std::string(sigabbrev_np(c.sig)) + " of the harness of " + c.backend + "/" + c.sync;
    Sandbox box("harness-signal");
    Bench r(box, run_args(box, c.backend, c.sync, "pingpong", 30));
    pid_t peer = steady_peer(r.pid(), 0.3, 15);
    if (peer <= 0) {
      ADD_FAILURE() << what << ": no steady peer (" << r.wait(0).describe() << ")";
      return;
    }
    ::kill(r.pid(), c.sig);
    const Ended& e = r.wait(r.age() + kSlackS);
    EXPECT_EQ(e.signal(), c.sig) << what << ": " << e.describe() << "\n" << e.err;
    EXPECT_TRUE(reap_survivors({peer}, 2).empty()) << what << ": the peer outlived its harness";
    if (c.sig == SIGKILL) {
      // Nothing can run in the harness: the records let clean find the objects.
      Bench clean(box, {"clean"});
      const Ended& ce = clean.wait(10);
      EXPECT_EQ(ce.exit_code(), 0) << what << ": clean " << ce.describe() << ": " << ce.text();
    }
    auto left = box.leftovers();
    EXPECT_TRUE(left.empty()) << what << (c.sig == SIGKILL ? ", then clean" : "")
                              << ": left behind:" << objects(left);
  });
}

INSTANTIATE_TEST_SUITE_P(Signal, FaultHarnessSignal,
                         ::testing::Values(SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, SIGKILL),
                         [](const auto& info) { return sigabbrev_np(info.param); });

// Two runs into one --out at once: one is refused (exit 2) or they take turns (both succeed and
// bench.json is one whole result: its benchmarks are the ones its context describes); never two
// failures with the result lost, never one run's results under the other's context. Three
// pairs at once, each pair started together and as long, so their writes meet.
TEST_F(FaultHarness, TwoRunsIntoOneOutFolder) {
  in_parallel(3, 3, [&](size_t i) {
    const std::string what = "pair " + std::to_string(i);
    Sandbox box("same-out");
    Bench a(box, run_args(box, "pipe", "block", "pingpong", 0.5));
    Bench b(box, run_args(box, "unix_stream", "block", "pingpong", 0.5));
    const Ended& ea = a.wait(30);
    const Ended& eb = b.wait(30);
    std::vector<int> codes = {ea.exit_code(), eb.exit_code()};
    std::sort(codes.begin(), codes.end());
    const std::string both =
        what + "\nrun A (pipe): " + ea.describe() + "\n" +
        ea.err.substr(ea.err.rfind("ipcbench:") == std::string::npos ? ea.err.size()
                                                                     : ea.err.rfind("ipcbench:")) +
        "\nrun B (unix_stream): " + eb.describe() + "\n" +
        eb.err.substr(eb.err.rfind("ipcbench:") == std::string::npos ? eb.err.size()
                                                                     : eb.err.rfind("ipcbench:"));
    EXPECT_TRUE(codes == std::vector<int>({0, 2}) || codes == std::vector<int>({0, 0})) << both;
    auto j = nlohmann::json::parse(read_file(box.out() + "/bench.json"), nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "bench.json is not valid JSON: " << both;
    ASSERT_FALSE(j["benchmarks"].empty()) << "bench.json has no result: " << both;
    const auto& described = j["context"]["ipcbench_config"]["matrices"][0]["backends"];
    for (const auto& bm : j["benchmarks"]) {
      EXPECT_EQ(nlohmann::json::array({bm.value("backend", "")}), described)
          << "bench.json holds a " << bm.value("backend", "?") << " result under the context of "
          << described.dump() << " run: " << both;
    }
    EXPECT_TRUE(box.leftovers().empty());
  });
}

// A good bench.json, then a run into the same folder interrupted by SIGINT: the good result
// stays as it was (the new one is written elsewhere and moved in only when complete).
TEST_F(FaultHarness, InterruptedRunKeepsThePreviousResult) {
  Sandbox box("keep-out");
  {
    Bench good(box, run_args(box, "pipe", "block", "pingpong", 0.05));
    ASSERT_EQ(good.wait(30).exit_code(), 0) << good.wait(30).text();
  }
  const std::string before = read_file(box.out() + "/bench.json");
  ASSERT_FALSE(nlohmann::json::parse(before, nullptr, false).is_discarded());
  Bench r(box, run_args(box, "pipe", "block", "pingpong", 30));
  ASSERT_GT(steady_peer(r.pid(), 0.3, 15), 0);
  ::kill(r.pid(), SIGINT);
  const Ended& e = r.wait(r.age() + kSlackS);
  EXPECT_EQ(e.signal(), SIGINT) << e.describe();
  const std::string after = read_file(box.out() + "/bench.json");
  bool valid = !nlohmann::json::parse(after, nullptr, false).is_discarded();
  EXPECT_TRUE(after == before) << "the interrupted run replaced the good bench.json with "
                               << (after.empty() ? std::string("an empty file")
                                   : valid       ? "another result"
                                                 : "invalid JSON (" + std::to_string(after.size()) +
                                                 " bytes, the start of Google Benchmark's output)");
}

// With XDG_RUNTIME_DIR and IPCBENCH_MANIFEST_DIR unset the manifest is /tmp/ipcbench-<uid>.
// Another user may create /tmp/ipcbench-0 first; a root run must still work. The test runs in
// a private mount namespace with its own /tmp (a tmpfs), so the machine's /tmp is untouched:
// the sandbox is bound in at its usual path, and /tmp/ipcbench-0 there belongs to nobody.
TEST_F(FaultHarness, ManifestFolderSquattedByAnotherUser) {
  Sandbox box("squat");
  const std::string root = box.root();
  // The checkout too, when it lies under /tmp (a CI clone there: the binary and the suites the
  // run reads): the tmpfs would hide it. Its top folder under /tmp is bound back.
  const std::string bin = IPCBENCH_BIN;
  const std::string bin_dir =
      bin.rfind("/tmp/", 0) == 0 ? bin.substr(0, bin.find('/', 5)) : std::string();
  MountNs ns([&] {
    // Opened inside the new namespace (a descriptor of the old one cannot be bound here),
    // before the tmpfs hides them; mkdir -p and bound back at their paths.
    auto bind_back = [](const std::string& dir, int fd) {
      char fd_path[32];
      std::snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fd);
      std::error_code ec;
      fs::create_directories(dir, ec);
      return !ec && ::mount(fd_path, dir.c_str(), nullptr, MS_BIND, nullptr) == 0;
    };
    const bool bin_in_tmp = !bin_dir.empty();
    int keep = ::open(root.c_str(), O_PATH | O_DIRECTORY);
    int keep_bin = bin_in_tmp ? ::open(bin_dir.c_str(), O_PATH | O_DIRECTORY) : -1;
    return keep >= 0 && (!bin_in_tmp || keep_bin >= 0) &&
           ::mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777,size=16m") == 0 &&
           bind_back(root, keep) && (!bin_in_tmp || bind_back(bin_dir, keep_bin)) &&
           ::mkdir("/tmp/ipcbench-0", 0700) == 0 &&
           ::chown("/tmp/ipcbench-0", kNobody, kNobody) == 0;
  });
  ASSERT_TRUE(ns.ok()) << "cannot set up the private /tmp";
  Spawn inside;
  inside.env = {"IPCBENCH_MANIFEST_DIR", "XDG_RUNTIME_DIR"};  // unset both
  inside.prepare = ns.join();
  Bench r(box, run_args(box, "posix_shm", "futex", "pingpong", 0.05), inside);
  const Ended& e = r.wait(30);
  EXPECT_EQ(e.exit_code(), 0) << e.describe() << "\n" << e.err;
  EXPECT_TRUE(fs::is_empty(ns.outside("/tmp/ipcbench-0"))) << "records left in the squatted folder";
  EXPECT_TRUE(box.leftovers().empty());
}

}  // namespace
}  // namespace ipcb::test::fault
