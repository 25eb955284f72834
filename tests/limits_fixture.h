// The fixture of the `ipcbench limits` tests (limits_test.cc, limits_lowered_test.cc): running
// the real binary as root or as `nobody`, sysctls changed and restored on every path, and a check
// that each test leaves no IPC object behind.
#pragma once

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

#include "harness/sys/sys_kernel.h"
#include "tests/process_util.h"

namespace ipcb::test {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr uid_t kNobody = 65534;

inline bool is_root() {
  return ::geteuid() == 0;
}

inline uint64_t sysctl(const std::string& name) {
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

struct Ran {
  int status = -1;  // wait status, -1 on timeout
  std::string out, err;
  double seconds = 0;
  bool exited_ok() const { return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs ipcbench in a child: as `nobody` if asked (setgroups, setgid, setuid), after `prepare`
// (run in the child, e.g. a private mount namespace) if given.
inline Ran run_child(const std::vector<std::string>& args, const std::vector<std::string>& env,
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

inline json parse(const Ran& r) {
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

inline const char* const kProbed[] = {"probed.sysv_shm.max_segment_bytes",
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

inline uint64_t probed(const json& j, const char* key) {
  EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << ": " << j.value(key, json()).dump();
  return j.contains(key) && j[key].is_number() ? j[key].get<uint64_t>() : 0;
}

}  // namespace ipcb::test
