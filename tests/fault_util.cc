// Fault-injection helpers (see fault_util.h).
#include "tests/fault_util.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/process_util.h"

extern char** environ;

namespace ipcb::test::fault {
namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

Sandbox::Sandbox(const std::string& tag) : root_(make_temp_dir("fault-" + tag)) {
  manifest_ = root_ + "/manifest";
  mmap_ = root_ + "/mmap";
  out_ = root_ + "/out";
  journal_ = root_ + "/journal";
  for (const auto& d : {manifest_, mmap_, out_}) {
    fs::create_directory(d);
    fs::permissions(d, fs::perms::owner_all);
  }
  std::ofstream(journal_).flush();
  // A run as another user (nobody) must be able to write its journal and reach its folders.
  fs::permissions(root_, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  fs::permissions(journal_, fs::perms::all & ~(fs::perms::owner_exec | fs::perms::group_exec |
                                               fs::perms::others_exec));
}

Sandbox::~Sandbox() {
  // A run that crashed or was killed leaves records: `ipcbench clean` removes their objects, so
  // a failing test does not leave them on the machine (the failure was reported already).
  std::error_code ec;
  if (!fs::is_empty(manifest_, ec) && !ec) {
    Spawn as;
    if (owner_ != 0) as.prepare = as_user(owner_);
    Bench clean(*this, {"clean"}, as);
    clean.wait(20);
  }
  // The global journal (process_util) learns what this sandbox's runs created, so the fixture's
  // machine-level check covers them too.
  std::ofstream(journal_path(), std::ios::app) << read_file(journal_);
  fs::remove_all(root_, ec);
}

std::vector<std::string> Sandbox::env() const {
  return {"IPCBENCH_MANIFEST_DIR=" + manifest_, "IPCBENCH_MMAP_DIR=" + mmap_,
          "IPCBENCH_JOURNAL=" + journal_};
}

void Sandbox::note_pid(pid_t pid) {
  static std::mutex m;
  std::lock_guard lock(m);
  pids_.insert(pid);
}

void Sandbox::give_to(uid_t uid) {
  owner_ = uid;
  for (const auto& d : {manifest_, mmap_, out_}) {
    if (::chown(d.c_str(), uid, uid) != 0) ADD_FAILURE() << "chown " << d;
  }
}

std::function<bool()> as_user(uid_t uid, std::function<bool()> then) {
  return [uid, then] {
    return ::setgroups(0, nullptr) == 0 && ::setgid(uid) == 0 && ::setuid(uid) == 0 &&
           (!then || then());
  };
}

std::set<std::string> Sandbox::leftovers() const {
  return live_objects(journal_, pids_, {manifest_, mmap_});
}

int Ended::exit_code() const {
  return !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int Ended::signal() const {
  return !timed_out && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

std::string Ended::describe() const {
  if (timed_out) return "still running after " + std::to_string(seconds) + " s (killed)";
  if (signal() != 0) {
    return "killed by signal " + std::to_string(signal()) + " (" + strsignal(signal()) + ")";
  }
  return "exit " + std::to_string(exit_code()) + " after " + std::to_string(seconds) + " s";
}

bool is_crash_signal(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT || sig == SIGILL || sig == SIGFPE;
}

namespace {
// The environment of a child: ours, with `changes` applied ("K=V" sets, "K" removes).
std::vector<std::string> child_env(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& c : changes) {
    std::string key = c.substr(0, c.find('='));
    std::erase_if(env, [&](const std::string& v) { return v.rfind(key + "=", 0) == 0; });
    if (c.find('=') != std::string::npos) env.push_back(c);
  }
  return env;
}
}  // namespace

Bench::Bench(Sandbox& box, const std::vector<std::string>& args, const Spawn& opts) : box_(box) {
  static std::atomic<int> n{0};
  dir_ = opts.dir.empty() ? box.root() + "/run" + std::to_string(n++) : opts.dir;
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::all);  // a run as nobody writes its output here
  // Everything the child needs is built before fork: between fork and exec a child of a
  // multithreaded program may only make syscalls.
  std::vector<std::string> changes = box.env();
  changes.insert(changes.end(), opts.env.begin(), opts.env.end());
  std::vector<std::string> env = child_env(changes);
  std::string bin = IPCBENCH_BIN;
  std::vector<char*> argv = {bin.data()}, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string out = dir_ + "/stdout", err = dir_ + "/stderr";
  t0_ = now_s();
  pid_ = ::fork();
  if (pid_ == 0) {
    if (opts.prepare && !opts.prepare()) _exit(125);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int r = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (o < 0 || r < 0 || ::dup2(o, 1) < 0 || ::dup2(r, 2) < 0) _exit(124);
    ::execve(bin.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  note_started(pid_);
  box_.note_pid(pid_);
}

double Bench::age() const {
  return now_s() - t0_;
}

const Ended& Bench::wait(double timeout_s) {
  if (done_ || pid_ <= 0) return e_;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      e_.status = status;
      break;
    }
    if (age() > timeout_s) {
      e_.timed_out = true;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    sleep_s(0.005);
  }
  e_.seconds = age();
  e_.out = read_file(dir_ + "/stdout");
  e_.err = read_file(dir_ + "/stderr");
  done_ = true;
  return e_;
}

Bench::~Bench() {
  if (!done_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::vector<std::string> run_args(const Sandbox& box, const std::string& backend,
                                  const std::string& sync, const std::string& workload,
                                  double min_time, const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"run", "--backend", backend, "--sync", sync, "--workload", workload,
                                "--size", "64", "--mode", "copy", "--placement", "cross",
                                "--min-time", std::to_string(min_time), "--timeout-ms",
                                std::to_string(kTimeoutMs), "--no-probe", "--no-floors",
                                // the faults are injected into the peer, found as the run's
                                // child: no preflight children before it
                                "--no-preflight", "--out", box.out()};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

bool outcome_matches(const Ended& e, const Expect& x) {
  if (e.timed_out || is_crash_signal(e.signal())) return false;
  if (std::find(x.exit_codes.begin(), x.exit_codes.end(), e.exit_code()) == x.exit_codes.end()) {
    return false;
  }
  const std::string t = e.text();
  if (!x.any_of.empty() && std::none_of(x.any_of.begin(), x.any_of.end(), [&](const auto& w) {
        return t.find(w) != std::string::npos;
      })) {
    return false;
  }
  for (const auto& w : x.none_of) {
    if (t.find(w) != std::string::npos) return false;
  }
  return x.deadline_s == 0 || e.seconds <= x.deadline_s;
}

namespace {
// What to show of a run's output in a failure: the error lines Google Benchmark and the harness
// printed, then the end of stderr (a crash report, a CHECK).
std::string digest(const Ended& e) {
  std::string d;
  std::istringstream out(e.out);
  for (std::string line; std::getline(out, line);) {
    if (line.find("ERROR OCCURRED") != std::string::npos) d += "  stdout: " + line + "\n";
  }
  // Google Benchmark's context header says nothing about the fault.
  std::string err;
  std::istringstream in(e.err);
  for (std::string line; std::getline(in, line);) {
    bool header = line.empty() || line.rfind("Running ", 0) == 0 || line.rfind("Run on ", 0) == 0 ||
                  line.rfind("CPU Caches", 0) == 0 || line.rfind("  L", 0) == 0 ||
                  line.rfind("Load Average", 0) == 0 || line.rfind("***WARNING***", 0) == 0 ||
                  (line.size() == 25 && line[4] == '-');
    if (!header) err += "    " + line + "\n";
  }
  if (err.size() > 900) err = "    ..." + err.substr(err.size() - 900);
  return d + "  stderr:\n" + err;
}
}  // namespace

void expect_outcome(const std::string& what, const Ended& e, const Sandbox& box, const Expect& x) {
  std::vector<std::string> problems;
  const std::string t = e.text();
  if (e.timed_out) problems.push_back("did not end (killed by the test)");
  if (is_crash_signal(e.signal())) problems.push_back("the harness crashed");
  if (!e.timed_out &&
      std::find(x.exit_codes.begin(), x.exit_codes.end(), e.exit_code()) == x.exit_codes.end()) {
    std::string want;
    for (int c : x.exit_codes) want += (want.empty() ? "" : " or ") + std::to_string(c);
    problems.push_back("exit status is not " + want);
  }
  if (x.deadline_s > 0 && !e.timed_out && e.seconds > x.deadline_s) {
    problems.push_back("ended after its deadline (" + std::to_string(x.deadline_s) + " s)");
  }
  if (!x.any_of.empty() && std::none_of(x.any_of.begin(), x.any_of.end(), [&](const auto& w) {
        return t.find(w) != std::string::npos;
      })) {
    std::string words;
    for (const auto& w : x.any_of) words += (words.empty() ? "'" : " or '") + w + "'";
    problems.push_back("the output does not name the cause (" + words + ")");
  }
  for (const auto& w : x.none_of) {
    if (t.find(w) != std::string::npos) problems.push_back("the output wrongly says '" + w + "'");
  }
  std::string json_path = box.out() + "/bench.json";
  if (fs::exists(json_path) &&
      nlohmann::json::parse(read_file(json_path), nullptr, false).is_discarded()) {
    problems.push_back("bench.json exists but is not valid JSON");
  }
  if (x.check_leaks) {
    // The harness is gone; a removal it started may still be on its way (a peer unmapping).
    std::set<std::string> left;
    for (int i = 0; i < 50 && !(left = box.leftovers()).empty(); ++i) sleep_s(0.02);
    for (const auto& l : left) problems.push_back("left behind: " + l);
  }
  if (std::getenv("FAULT_VERBOSE") != nullptr) {  // what each case really ended with
    std::string first = digest(e);
    std::fprintf(stderr, "[outcome] %s: %s\n%s\n", what.c_str(), e.describe().c_str(),
                 first.substr(0, 600).c_str());
  }
  if (problems.empty()) return;
  std::string list;
  for (const auto& p : problems) list += "\n  - " + p;
  ADD_FAILURE() << what << ": " << e.describe() << list << "\n" << digest(e);
}

void in_parallel(size_t n, int width, const std::function<void(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < width && static_cast<size_t>(t) < n; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < n;) job(i);
    });
  }
  for (auto& t : threads) t.join();
}

std::vector<pid_t> reap_survivors(const std::vector<pid_t>& pids, double timeout_s) {
  auto alive = [](pid_t p) {
    if (p <= 0 || ::kill(p, 0) != 0) return false;
    std::string stat = read_file("/proc/" + std::to_string(p) + "/stat");
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
  };
  double t0 = now_s();
  std::vector<pid_t> left;
  for (;;) {
    left.clear();
    for (pid_t p : pids) {
      if (alive(p)) left.push_back(p);
    }
    if (left.empty() || now_s() - t0 > timeout_s) break;
    sleep_s(0.01);
  }
  for (pid_t p : left) ::kill(p, SIGKILL);
  return left;
}

void FaultTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "fault injection needs root (ptrace, /proc/PID/mem)";
  if (read_file("/proc/self/mounts").find(" /dev/mqueue mqueue ") == std::string::npos) {
    fs::create_directories("/dev/mqueue");
    ::mount("none", "/dev/mqueue", "mqueue", 0, nullptr);
  }
  before_ = ipc_snapshot({});
}

void FaultTest::TearDown() {
  if (::geteuid() != 0) return;
  std::set<std::string> after;
  for (int i = 0; i < 50 && (after = ipc_snapshot({})) != before_; ++i) sleep_s(0.02);
  EXPECT_EQ(after, before_) << "the test's runs left IPC objects behind";
}

}  // namespace ipcb::test::fault
