// `ipcbench limits` through the real binary: configured values are the kernel's, probed values
// match them (as root and as `nobody`), the table names every probe, and nothing is left behind,
// also when a probe is interrupted. Lowered limits: limits_lowered_test.cc.
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <cstring>
#include <thread>

#include "harness/limits/limits.h"
#include "tests/limits_fixture.h"

namespace ipcb::test {
namespace {

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!is_root()) return;
    SysctlGuard::restore_leftovers();
    // The snapshots list /dev/mqueue: mount it if missing.
    if (read_file("/proc/self/mounts").find(" /dev/mqueue mqueue ") != std::string::npos) return;
    fs::create_directories("/dev/mqueue");
    if (::mount("none", "/dev/mqueue", "mqueue", 0, nullptr) != 0) {
      std::fprintf(stderr, "note: cannot mount /dev/mqueue: %s\n", std::strerror(errno));
    }
  }
};
[[maybe_unused]] const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new Environment);

TEST_F(LimitsTest, ConfiguredValuesAreTheKernels) {
  json j = limits(false, {"--no-probe"});
  for (const char* name :
       {"kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.msgmax", "kernel.msgmnb",
        "kernel.msgmni", "fs.mqueue.msg_max", "fs.mqueue.msgsize_max", "fs.mqueue.queues_max",
        "fs.mqueue.msg_default", "fs.mqueue.msgsize_default", "fs.pipe-max-size",
        "fs.pipe-user-pages-soft"}) {
    EXPECT_EQ(j.value(name, json()), json(sysctl(name))) << name;
  }
  auto sem = sys::read_sysctl_fields("kernel.sem");
  ASSERT_TRUE(sem.ok());
  EXPECT_EQ(j["kernel.sem"]["semmsl"], (*sem)[0]);
  EXPECT_EQ(j["kernel.sem"]["semmni"], (*sem)[3]);
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_MSGQUEUE, &rl), 0);
  EXPECT_EQ(j["RLIMIT_MSGQUEUE"]["soft"], json(static_cast<uint64_t>(rl.rlim_cur)));
  for (const char* r : {"RLIMIT_MEMLOCK", "RLIMIT_NOFILE"}) EXPECT_TRUE(j[r].contains("hard")) << r;
  struct statvfs vfs {};
  ASSERT_EQ(::statvfs("/dev/shm", &vfs), 0);
  EXPECT_EQ(j["/dev/shm"]["size_bytes"], json(static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize));
  EXPECT_TRUE(j["/dev/mqueue"].contains("mounted"));
  EXPECT_EQ(j["PIPE_BUF"], 4096);
  EXPECT_EQ(j["page_size"], json(static_cast<uint64_t>(::sysconf(_SC_PAGESIZE))));
  EXPECT_TRUE(j["hugepages"].contains("size_bytes") && j["hugepages"].contains("free"));
  EXPECT_EQ(j["privilege"]["root"], is_root());
  EXPECT_FALSE(j.contains("probed.sysv_shm.max_segment_bytes")) << "--no-probe probed";
}

// What every probe must show, by who ran it (the JSON says whether CAP_SYS_RESOURCE was there).
void expect_probes_match_configured(const json& j) {
  const bool resource = j["privilege"]["CAP_SYS_RESOURCE"].get<bool>();
  for (const char* key : kProbed) {
    SCOPED_TRACE(key);
    ASSERT_TRUE(j["probes"].contains(key));
    const json& d = j["probes"][key];
    EXPECT_FALSE(d.contains("error")) << d.dump();
    // Agreement, or a reason why not.
    EXPECT_TRUE(d["agrees"].get<bool>() || !d.value("why", "").empty()) << d.dump();
  }
  const uint64_t shmmax = sysctl("kernel.shmmax");
  uint64_t seg = probed(j, "probed.sysv_shm.max_segment_bytes");
  EXPECT_LE(seg, shmmax);
  if (j["probes"]["probed.sysv_shm.max_segment_bytes"].value("bound", "") == "shmget: EINVAL") {
    EXPECT_EQ(seg, shmmax);
  }
  const uint64_t msgmax = sysctl("kernel.msgmax"), msgmnb = sysctl("kernel.msgmnb");
  EXPECT_EQ(probed(j, "probed.sysv_msg.max_message_bytes"), std::min(msgmax, msgmnb));
  EXPECT_EQ(probed(j, "probed.sysv_msg.queue_bytes"), msgmnb);
  auto sem = sys::read_sysctl_fields("kernel.sem");
  ASSERT_TRUE(sem.ok());
  EXPECT_EQ(probed(j, "probed.sysv_sem.max_nsems"), (*sem)[0]);
  EXPECT_EQ(probed(j, "probed.pipe.capacity"), 16 * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
  struct Attr {
    const char* key;
    const char* sysctl;
  };
  for (auto [key, name] : {Attr{"probed.posix_mq.max_msgsize", "fs.mqueue.msgsize_max"},
                           Attr{"probed.posix_mq.max_maxmsg", "fs.mqueue.msg_max"},
                           Attr{"probed.pipe.max_size", "fs.pipe-max-size"}}) {
    SCOPED_TRACE(key);
    if (resource) {
      EXPECT_GE(probed(j, key), sysctl(name));
    } else {
      EXPECT_EQ(probed(j, key), sysctl(name));
    }
  }
  // Counts stop at the cap (48) unless the configured limit comes first.
  EXPECT_EQ(probed(j, "probed.sysv_shm.max_segments"),
            std::min<uint64_t>(
                48, sysctl("kernel.shmmni") - j["in_use"]["sysv_shm_segments"].get<uint64_t>()));
  if (!resource && j["/dev/mqueue"]["mounted"].get<bool>()) {
    EXPECT_EQ(probed(j, "probed.posix_mq.max_queues"),
              std::min<uint64_t>(48, sysctl("fs.mqueue.queues_max") -
                                         j["in_use"]["posix_mq_queues"].get<uint64_t>()));
  }
  // Never more than the cap, never more than 3/4 of what /dev/shm has free.
  uint64_t shm = probed(j, "probed.posix_shm.max_bytes");
  EXPECT_LE(shm, j["probe"]["max_probe_bytes"].get<uint64_t>());
  EXPECT_LE(shm, j["/dev/shm"]["free_bytes"].get<uint64_t>() / 4 * 3 + 4096);
}

TEST_F(LimitsTest, ProbedValuesMatchConfiguredOnesForThisUser) {
  json j = limits();
  expect_probes_match_configured(j);
  EXPECT_LT(j["probe"]["seconds"].get<double>(), 10.0);
}

TEST_F(LimitsTest, ProbedValuesMatchConfiguredOnesForNobody) {
  if (!is_root()) GTEST_SKIP() << "needs root to drop to nobody (this run is unprivileged)";
  json j = limits(/*nobody=*/true);
  EXPECT_EQ(j["privilege"]["euid"], kNobody);
  EXPECT_FALSE(j["privilege"]["privileged"].get<bool>());
  expect_probes_match_configured(j);
}

TEST_F(LimitsTest, TheTableNamesEveryProbeAndWhatSkipsTheSuite) {
  Ran r = run_child({"limits", "--suite", "default"}, env(), false, 20);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  for (const char* key : kProbed) EXPECT_NE(r.out.find(key), std::string::npos) << key;
  EXPECT_NE(r.out.find("kernel.shmmax"), std::string::npos);
  EXPECT_NE(r.out.find("Sizes of suite 'default' these limits skip:"), std::string::npos);
  EXPECT_TRUE(fs::is_empty(manifest_)) << "a record outlived its object";
}

// SIGINT at several moments of the probe: each run dies of it (or finishes first) and leaves
// neither objects (the fixture compares snapshots) nor records.
TEST_F(LimitsTest, InterruptedProbeLeavesNothing) {
  int interrupted = 0;
  for (int delay_ms : {15, 40, 80, 150, 250, 400}) {
    SCOPED_TRACE(delay_ms);
    pid_t pid = start_ipcbench({"limits", "--max-probe-bytes", "1G"}, env(), out_);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGINT);
    int status = wait_with_deadline(pid, 20, nullptr);
    ASSERT_NE(status, -1) << "ipcbench limits hung after SIGINT";
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) ++interrupted;
    EXPECT_TRUE(fs::is_empty(manifest_)) << "records left after SIGINT";
  }
  EXPECT_GT(interrupted, 0) << "no SIGINT arrived while the probe ran";
}

}  // namespace
}  // namespace ipcb::test
