// Shared helpers of the conformance tests (see conform.h).
#include "suites/conformance/conform.h"

#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ipcb::conform {
namespace {

uint64_t random64() {
  uint64_t v = 0;
  if (::getrandom(&v, sizeof v, 0) != sizeof v) std::abort();
  return v;
}

std::string sysctl_path(std::string name) {
  if (name.find('/') == std::string::npos) {
    for (char& c : name) {
      if (c == '.') c = '/';
    }
  }
  return "/proc/sys/" + name;
}

}  // namespace

std::string unique_name() {
  char buf[40];
  std::snprintf(buf, sizeof buf, "/ipcb-conf-%016llx", static_cast<unsigned long long>(random64()));
  return buf;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ipcb-conf-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

key_t unique_key() {
  for (;;) {
    key_t k = static_cast<key_t>(random64() & 0x7fffffff);
    if (k == IPC_PRIVATE) continue;
    // Taken by any kind of SysV object? Then try another.
    if (::shmget(k, 0, 0) >= 0 || errno != ENOENT) continue;
    if (::msgget(k, 0) >= 0 || errno != ENOENT) continue;
    if (::semget(k, 0, 0) >= 0 || errno != ENOENT) continue;
    return k;
  }
}

std::string ChildResult::describe() const {
  if (timed_out) return "child timed out";
  if (exited) return "child exited with " + std::to_string(code);
  return "child killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ChildResult run_in_child(const std::function<int()>& fn, int timeout_ms) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return ChildResult{};
  if (pid == 0) {
    int code = fn();
    ::_exit(code);
  }
  ChildResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.timed_out = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (WIFEXITED(status)) {
    r.exited = true;
    r.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

bool is_root() {
  return ::geteuid() == 0;
}

bool has_capability(int cap) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
      return (mask >> cap) & 1ULL;
    }
  }
  return false;
}

bool drop_to_nobody() {
  if (::setgroups(0, nullptr) != 0 && errno != EPERM) return false;
  if (::setgid(65534) != 0) return false;
  if (::setuid(65534) != 0) return false;
  return ::geteuid() == 65534;
}

std::optional<long long> read_sysctl(const std::string& name) {
  std::ifstream f(sysctl_path(name));
  long long v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

SysctlGuard::SysctlGuard(const std::string& name, long long value) : name_(sysctl_path(name)) {
  std::ifstream in(name_);
  if (!std::getline(in, old_)) return;
  std::ofstream out(name_);
  if (!(out << value << "\n") || !out.flush()) return;
  ok_ = true;
}

SysctlGuard::~SysctlGuard() {
  if (!ok_) return;
  std::ofstream out(name_);
  out << old_ << "\n";
}

namespace {
void ignore_signal(int) {}
}  // namespace

InterruptingSignal::InterruptingSignal(int sig) : sig_(sig), old_(new struct sigaction) {
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the interrupted call fails with EINTR
  ::sigaction(sig, &sa, old_);
}

InterruptingSignal::~InterruptingSignal() {
  if (join_) join_();
  ::sigaction(sig_, old_, nullptr);
  delete old_;
}

void InterruptingSignal::send_after(int delay_ms) {
  pthread_t target = ::pthread_self();
  int sig = sig_;
  auto* t = new std::thread([target, sig, delay_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::pthread_kill(target, sig);
  });
  join_ = [t] {
    t->join();
    delete t;
  };
}

}  // namespace ipcb::conform
