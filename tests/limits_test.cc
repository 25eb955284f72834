// `ipcbench limits` through the real binary: configured values are the kernel's, probed values
// match them (as root and as `nobody`), a lowered sysctl is found exactly and skips a run naming
// it with the command that raises it, probes stay within their caps, and nothing is left behind,
// also when a probe is interrupted. Tests that change a sysctl restore it on every path.
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "backends/posix_mq.h"
#include "backends/shm_channel.h"
#include "backends/unix_seqpacket.h"
#include "harness/limits/limits.h"
#include "harness/sys/sys_kernel.h"
#include "tests/process_util.h"

namespace ipcb::test {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr uid_t kNobody = 65534;

bool is_root() {
  return ::geteuid() == 0;
}

uint64_t sysctl(const std::string& name) {
  auto v = sys::read_sysctl(name);
  EXPECT_TRUE(v.ok()) << name;
  return v.ok() ? *v : 0;
}

// Lowers (or sets) a sysctl and restores it in the destructor, so an ASSERT that returns early
// restores it too. A journal file covers a test killed outright: the next run restores from it.
class SysctlGuard {
 public:
  SysctlGuard(std::string name, const std::string& value) : name_(std::move(name)) {
    auto orig = sys::read_text_file(path());
    ok_ = orig.ok();
    if (!ok_) return;
    original_ = orig->substr(0, orig->find_last_not_of(" \n\t") + 1);
    std::ofstream(journal()) << original_;
    ok_ = sys::write_sysctl(name_, value).ok();
  }
  ~SysctlGuard() {
    if (original_.empty()) return;
    EXPECT_TRUE(sys::write_sysctl(name_, original_).ok()) << "could not restore " << name_;
    fs::remove(journal());
  }
  SysctlGuard(const SysctlGuard&) = delete;
  SysctlGuard& operator=(const SysctlGuard&) = delete;
  bool ok() const { return ok_; }

  // Restores what a killed test left changed.
  static void restore_leftovers() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
      std::string f = e.path().filename();
      const std::string prefix = "ipcbench-sysctl-";
      if (f.rfind(prefix, 0) != 0) continue;
      std::string value = read_file(e.path());
      if (!value.empty()) (void)sys::write_sysctl(f.substr(prefix.size()), value);
      fs::remove(e.path());
    }
  }

 private:
  std::string path() const {
    std::string p = "/proc/sys/" + name_;
    std::replace(p.begin() + 10, p.end(), '.', '/');
    return p;
  }
  std::string journal() const {
    return (fs::temp_directory_path() / ("ipcbench-sysctl-" + name_)).string();
  }
  std::string name_, original_;
  bool ok_ = false;
};

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

struct Ran {
  int status = -1;  // wait status, -1 on timeout
  std::string out, err;
  double seconds = 0;
  bool exited_ok() const { return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs ipcbench in a child: as `nobody` if asked (setgroups, setgid, setuid), after `prepare`
// (run in the child, e.g. a private mount namespace) if given.
Ran run_child(const std::vector<std::string>& args, const std::vector<std::string>& env,
              bool as_nobody, double timeout_s, const std::function<bool()>& prepare = {}) {
  std::string dir = make_temp_dir("limits-run");
  if (as_nobody && ::chown(dir.c_str(), kNobody, kNobody) != 0) return {};
  const std::string journal = "IPCBENCH_JOURNAL=" + journal_path();
  pid_t pid = ::fork();
  note_started(pid);
  if (pid == 0) {
    ::putenv(const_cast<char*>(journal.c_str()));
    if (prepare && !prepare()) _exit(125);
    if (as_nobody &&
        (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) {
      _exit(126);
    }
    int out = ::open((dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open((dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv = {const_cast<char*>(IPCBENCH_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(IPCBENCH_BIN, argv.data());
    _exit(127);
  }
  Ran r;
  r.status = wait_with_deadline(pid, timeout_s, &r.seconds);
  r.out = read_file(dir + "/stdout");
  r.err = read_file(dir + "/stderr");
  fs::remove_all(dir);
  return r;
}

json parse(const Ran& r) {
  EXPECT_TRUE(r.exited_ok()) << "status " << r.status << "\n" << r.out << r.err;
  json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// Each test has its own manifest folders (one per user), and leaves the machine as it found it.
class LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifest_ = make_temp_dir("limits-manifest");
    manifest_nobody_ = make_temp_dir("limits-manifest-nobody");
    if (is_root()) {
      ASSERT_EQ(::chown(manifest_nobody_.c_str(), kNobody, kNobody), 0);
    }
    out_ = make_temp_dir("limits-out");
    before_ = ipc_snapshot({manifest_, manifest_nobody_});
  }
  void TearDown() override {
    EXPECT_EQ(ipc_snapshot({manifest_, manifest_nobody_}), before_)
        << "the probe left IPC objects behind";
    for (const auto& d : {manifest_, manifest_nobody_, out_}) fs::remove_all(d);
  }
  std::vector<std::string> env(bool nobody = false) const {
    return {"IPCBENCH_MANIFEST_DIR=" + (nobody ? manifest_nobody_ : manifest_)};
  }
  json limits(bool nobody = false, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"limits", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse(run_child(args, env(nobody), nobody, 20));
  }
  std::string manifest_, manifest_nobody_, out_;
  std::set<std::string> before_;
};

const char* const kProbed[] = {"probed.sysv_shm.max_segment_bytes",
                               "probed.sysv_shm.max_segments",
                               "probed.posix_shm.max_bytes",
                               "probed.posix_mq.max_msgsize",
                               "probed.posix_mq.max_maxmsg",
                               "probed.posix_mq.max_queues",
                               "probed.sysv_msg.max_message_bytes",
                               "probed.sysv_msg.queue_bytes",
                               "probed.pipe.max_size",
                               "probed.pipe.capacity",
                               "probed.sysv_sem.max_nsems"};

uint64_t probed(const json& j, const char* key) {
  EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << ": " << j.value(key, json()).dump();
  return j.contains(key) && j[key].is_number() ? j[key].get<uint64_t>() : 0;
}

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

TEST_F(LimitsTest, LoweredShmmaxIsFoundExactlyAndSkipsTheRunNamingIt) {
  if (!is_root()) GTEST_SKIP() << "needs root to change kernel.shmmax";
  SysctlGuard guard("kernel.shmmax", "4194304");
  ASSERT_TRUE(guard.ok());
  for (bool nobody : {false, true}) {
    SCOPED_TRACE(nobody ? "nobody" : "root");
    json j = limits(nobody);
    EXPECT_EQ(probed(j, "probed.sysv_shm.max_segment_bytes"), 4194304u);
    EXPECT_EQ(j["probes"]["probed.sysv_shm.max_segment_bytes"]["limit"], "kernel.shmmax");
    EXPECT_EQ(j["probes"]["probed.sysv_shm.max_segment_bytes"]["bound"], "shmget: EINVAL");
  }
  Ran r = run_child({"run", "--backend", "sysv_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,8M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped pingpong/sysv_shm/spin/8388608: segment of "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("exceeds kernel.shmmax = 4194304"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("To raise it: sysctl -w kernel.shmmax="), std::string::npos) << r.out;
  json bench = json::parse(read_file(out_ + "/bench.json"));
  EXPECT_EQ(bench["context"]["limits"]["kernel.shmmax"], 4194304);
  ASSERT_EQ(bench["context"]["ipcbench_skipped"].size(), 1u);
  EXPECT_NE(
      bench["context"]["ipcbench_skipped"][0]["reason"].get<std::string>().find("kernel.shmmax"),
      std::string::npos);
  EXPECT_EQ(bench["benchmarks"].size(), 1u) << "the 64-byte run goes ahead";
}

TEST_F(LimitsTest, LoweredMsgsizeMaxIsFoundExactlyByAnUnprivilegedProbe) {
  if (!is_root()) GTEST_SKIP() << "needs root to change fs.mqueue.msgsize_max";
  SysctlGuard guard("fs.mqueue.msgsize_max", "5000");
  ASSERT_TRUE(guard.ok());
  json j = limits(/*nobody=*/true);
  EXPECT_EQ(probed(j, "probed.posix_mq.max_msgsize"), 5000u);
  EXPECT_EQ(j["probes"]["probed.posix_mq.max_msgsize"]["limit"], "fs.mqueue.msgsize_max");
  EXPECT_TRUE(j["probes"]["probed.posix_mq.max_msgsize"]["agrees"].get<bool>());
}

// shmall counts the pages of every segment: with one held, shmall stops a segment that the
// configured values alone would allow. The run's skip names the real limit, not shmmax.
TEST_F(LimitsTest, SegmentsInUseMakeShmallTheLimitARunIsSkippedBy) {
  if (!is_root()) GTEST_SKIP() << "needs root to change kernel.shmall";
  const uint64_t page = ::sysconf(_SC_PAGESIZE);
  ChannelConfig big;
  big.message_bytes = 32 + (1u << 20);  // the 1M run's segment
  const uint64_t seg_pages = (shm_channel_bytes(big) + page - 1) / page;
  // shmall lets the segment in by itself (the configured check passes), not next to ours.
  const uint64_t held_pages = 32;
  SysctlGuard guard("kernel.shmall",
                    std::to_string(limits::sysv_shm_pages_in_use() + seg_pages + 16));
  ASSERT_TRUE(guard.ok());
  key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
  int id = ::shmget(key, held_pages * page, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  struct Remove {
    int id;
    ~Remove() { ::shmctl(id, IPC_RMID, nullptr); }
  } remove{id};
  Ran r = run_child({"run", "--backend", "sysv_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,1M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  json bench = json::parse(read_file(out_ + "/bench.json"));
  ASSERT_EQ(bench["context"]["ipcbench_skipped"].size(), 1u) << r.out;
  std::string reason = bench["context"]["ipcbench_skipped"][0]["reason"];
  EXPECT_NE(reason.find("exceeds kernel.shmall"), std::string::npos) << reason;
  EXPECT_NE(reason.find("probed.sysv_shm.max_segment_bytes = " +
                        std::to_string((seg_pages + 16 - held_pages) * page)),
            std::string::npos)
      << reason;
  EXPECT_NE(r.out.find("To raise it: sysctl -w kernel.shmall="), std::string::npos) << r.out;
}

// In a private mount namespace, a small /dev/shm: the probe stops at 3/4 of its free space, and
// a run's segment that does not fit is skipped naming /dev/shm with the remount command.
TEST_F(LimitsTest, SmallDevShmIsNeverFilledAndNamedInTheSkip) {
  if (!is_root()) GTEST_SKIP() << "needs root to mount a tmpfs";
  auto small_shm = [] {
    return ::unshare(CLONE_NEWNS) == 0 &&
           ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=8m,mode=1777") == 0;
  };
  json j = parse(run_child({"limits", "--json"}, env(), false, 20, small_shm));
  EXPECT_EQ(j["/dev/shm"]["size_bytes"], 8u << 20);
  EXPECT_EQ(probed(j, "probed.posix_shm.max_bytes"), 6u << 20);
  EXPECT_TRUE(j["probes"]["probed.posix_shm.max_bytes"]["capped"].get<bool>());
  EXPECT_NE(j["probes"]["probed.posix_shm.max_bytes"]["cap"].get<std::string>().find("/dev/shm"),
            std::string::npos);
  Ran r = run_child({"run", "--backend", "posix_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,4M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120, small_shm);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  EXPECT_NE(r.out.find("exceeds the free space of /dev/shm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("To raise it: mount -o remount,size="), std::string::npos) << r.out;
}

TEST_F(LimitsTest, ProbesStayWithinTheMemoryCapAndTheTimeLimit) {
  Ran r = run_child({"limits", "--json", "--max-probe-bytes", "1M"}, env(), false, 20);
  json j = parse(r);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(j["probe"]["max_probe_bytes"], 1u << 20);
  EXPECT_LE(probed(j, "probed.posix_shm.max_bytes"), 1u << 20);
  EXPECT_LE(probed(j, "probed.sysv_msg.max_message_bytes"), 1u << 20);
  Ran bad = run_child({"limits", "--max-probe-bytes", "lots"}, env(), false, 20);
  EXPECT_TRUE(WIFEXITED(bad.status) && WEXITSTATUS(bad.status) == 2) << bad.status;
  EXPECT_NE(bad.err.find("--max-probe-bytes"), std::string::npos) << bad.err;
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
