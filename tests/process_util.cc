// Test helpers (see process_util.h).
#include "tests/process_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness/sys/sys.h"

namespace ipcb::test {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream b;
  b << f.rdbuf();
  return b.str();
}

std::string make_temp_dir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() / ("ipcbench-" + tag + "-" + sys::random_hex(6));
  fs::create_directories(p);
  fs::permissions(p, fs::perms::owner_all);
  return p;
}

namespace {
std::mutex& started_mutex() {
  static std::mutex m;
  return m;
}
std::set<pid_t>& started() {
  static std::set<pid_t> pids;
  return pids;
}
}  // namespace

std::set<pid_t> started_pids() {
  std::lock_guard lock(started_mutex());
  return started();
}

void note_started(pid_t pid) {
  std::lock_guard lock(started_mutex());
  if (pid > 0) started().insert(pid);
}

const std::string& journal_path() {
  static std::string dir;
  static const std::string path = [] {
    dir = make_temp_dir("journal");
    fs::permissions(dir, fs::perms::all);  // writable by a run as nobody
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(dir, ec);
    });
    std::string p = dir + "/objects";
    int fd = open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) {
      fchmod(fd, 0666);
      close(fd);
    }
    return p;
  }();
  return path;
}

pid_t start_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::string& dir, const std::function<bool()>& prepare) {
  const std::string journal = "IPCBENCH_JOURNAL=" + journal_path();
  pid_t pid = fork();
  if (pid != 0) {
    note_started(pid);
    return pid;
  }
  int out = open((dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = open((dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2(out, 1);
  dup2(err, 2);
  if (prepare && !prepare()) _exit(126);
  putenv(const_cast<char*>(journal.c_str()));
  for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
  std::vector<char*> argv;
  std::string bin = IPCBENCH_BIN;
  argv.push_back(bin.data());
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(bin.c_str(), argv.data());
  _exit(127);
}

int wait_with_deadline(pid_t pid, double timeout_s, double* seconds) {
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      if (seconds)
        *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return status;
    }
    if (std::chrono::steady_clock::now() - t0 > std::chrono::duration<double>(timeout_s)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Outcome collect_run(pid_t pid, const std::string& dir, double timeout_s,
                    const std::string& timed_out) {
  Outcome o;
  int status = wait_with_deadline(pid, timeout_s, &o.seconds);
  if (status == -1) {
    o.signal = SIGKILL;
    o.err = timed_out;
  } else if (WIFEXITED(status)) {
    o.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    o.signal = WTERMSIG(status);
  }
  o.out += read_file(dir + "/stdout");
  o.err += read_file(dir + "/stderr");
  fs::remove_all(dir);
  return o;
}

Outcome run_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     double timeout_s) {
  std::string dir = make_temp_dir("run");
  return collect_run(start_ipcbench(args, env, dir), dir, timeout_s, "timed out");
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::istringstream in(read_file(task.path().string() + "/children"));
    pid_t c;
    while (in >> c) out.push_back(c);
  }
  return out;
}

namespace {
// The keys (decimal) of the SysV objects of one kind that exist now.
std::set<std::string> sysv_keys(const char* kind) {
  std::set<std::string> keys;
  std::istringstream table(read_file(std::string("/proc/sysvipc/") + kind));
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream f(line);
    std::string key;
    f >> key;
    // Key 0 is a segment already removed (IPC_RMID) that someone still has attached: it goes
    // away on detach, and ipcbench never creates IPC_PRIVATE objects.
    if (key != "0") keys.insert(key);
  }
  return keys;
}

// The pid an object name made by sys::owned_name carries ("ipcbench-PID-HEX..."), or -1.
pid_t owner_in_name(const std::string& file) {
  auto dash = file.find('-');
  if (dash == std::string::npos) return -1;
  auto next = file.find('-', dash + 1);
  if (next == std::string::npos) return -1;
  // "ipcb-probe-PID-..." has one more word before the pid.
  std::string word = file.substr(dash + 1, next - dash - 1);
  if (word == "probe") {
    dash = next;
    next = file.find('-', dash + 1);
    if (next == std::string::npos) return -1;
    word = file.substr(dash + 1, next - dash - 1);
  }
  if (word.empty() || word.find_first_not_of("0123456789") != std::string::npos) return -1;
  return static_cast<pid_t>(std::stol(word));
}
}  // namespace

std::set<std::string> ipc_snapshot(const std::vector<std::string>& extra_dirs) {
  return live_objects(journal_path(), started_pids(), extra_dirs);
}

std::set<std::string> live_objects(const std::string& journal_file, const std::set<pid_t>& pids,
                                   const std::vector<std::string>& extra_dirs) {
  std::set<std::string> s;
  const std::set<std::string> shm = sysv_keys("shm"), msg = sysv_keys("msg"),
                              sem = sysv_keys("sem");
  std::istringstream journal(read_file(journal_file));
  for (std::string line; std::getline(journal, line);) {
    std::istringstream fields(line);
    std::string kind, name;
    if (!(fields >> kind >> name)) continue;
    bool exists = false;
    if (kind == "sysv_shm")
      exists = shm.count(name) != 0;
    else if (kind == "sysv_msg")
      exists = msg.count(name) != 0;
    else if (kind == "sysv_sem")
      exists = sem.count(name) != 0;
    else if (kind == "sysv_key")  // a conformance test's key: any kind of object under it
      exists = shm.count(name) + msg.count(name) + sem.count(name) != 0;
    else if (kind == "posix_shm")
      exists = fs::exists("/dev/shm" + name);
    else if (kind == "posix_mq")
      exists = fs::exists("/dev/mqueue" + name);
    else if (kind == "posix_name")  // a conformance test's name: shm, queue or semaphore
      exists = fs::exists("/dev/shm" + name) || fs::exists("/dev/mqueue" + name) ||
               fs::exists("/dev/shm/sem." + name.substr(1));
    else if (kind == "sysctl")  // a saved value, not an object (tests compare the values)
      exists = false;
    else
      exists = fs::exists(name);
    if (exists) s.insert(kind + " " + name);
  }
  std::error_code ec;
  for (const char* dir : {"/dev/shm", "/dev/mqueue"}) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string file = e.path().filename().string();
      if (file.rfind("ipcb", 0) == 0 && pids.count(owner_in_name(file)) != 0) {
        s.insert(e.path().string());
      }
    }
  }
  for (const auto& d : extra_dirs) {
    for (const auto& e : fs::directory_iterator(d, ec)) s.insert(e.path().string());
  }
  return s;
}

std::vector<std::string> RunFolders::watched() const {
  if (mmap_.empty()) return {manifest_};
  return {manifest_, mmap_};
}

void RunFolders::SetUp() {
  manifest_ = make_temp_dir(options_.tag + "manifest");
  if (options_.mmap) mmap_ = make_temp_dir(options_.tag + "mmap");
  out_ = make_temp_dir(options_.tag + "out");
  env_ = {"IPCBENCH_MANIFEST_DIR=" + manifest_};
  if (options_.mmap) env_.push_back("IPCBENCH_MMAP_DIR=" + mmap_);
  env_.insert(env_.end(), options_.env.begin(), options_.env.end());
  before_ = ipc_snapshot(watched());
}

void RunFolders::TearDown() {
  EXPECT_EQ(ipc_snapshot(watched()), before_) << options_.leftover;
  for (const auto& d : {manifest_, mmap_, out_}) {
    if (!d.empty()) fs::remove_all(d);
  }
}

}  // namespace ipcb::test
