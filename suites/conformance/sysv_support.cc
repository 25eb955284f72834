// The helpers of sysv_support.h.
#include "suites/conformance/sysv_support.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace ipcb::conform {
namespace {

// The number of the system call thread `tid` is in, from /proc/.../syscall ("running" and
// unreadable files give -1).
long current_syscall(pid_t tid) {
  const std::string id = std::to_string(tid);
  std::ifstream f("/proc/self/task/" + id + "/syscall");
  if (!f) f = std::ifstream("/proc/" + id + "/syscall");
  long nr = -1;
  return (f >> nr) ? nr : -1;
}

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

bool wait_blocked_in(pid_t tid, std::initializer_list<long> nrs, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_until_blocked(tid, static_cast<int>(left.count()))) return false;
    long nr = current_syscall(tid);
    for (long want : nrs) {
      if (nr == want) return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

int when_blocked(const std::function<int()>& call, std::initializer_list<long> nrs,
                 const std::function<void()>& act) {
  pid_t tid = ::gettid();
  std::vector<long> calls(nrs);
  bool seen = false;
  std::thread helper([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBlockedWaitMs);
    while (!seen && std::chrono::steady_clock::now() < deadline) {
      if (!wait_until_blocked(tid, kBlockedWaitMs)) break;
      long nr = current_syscall(tid);
      for (long want : calls) seen = seen || nr == want;
      if (!seen) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    act();
  });
  int rc = call();
  helper.join();
  return seen ? rc : kNeverBlocked;
}

bool enter_private_ipc_ns() {
  if (::unshare(CLONE_NEWIPC) == 0) return true;
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0) return false;
  return write_file("/proc/self/setgroups", "deny") &&
         write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") &&
         write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
}

bool write_ipc_sysctl(const std::string& name, const std::string& value) {
  return write_file("/proc/sys/kernel/" + name, value);
}

std::vector<std::map<std::string, long long>> sysvipc_rows(Sysv kind) {
  const char* file = kind == Sysv::kShm ? "shm" : kind == Sysv::kMsg ? "msg" : "sem";
  std::ifstream f(std::string("/proc/sysvipc/") + file);
  std::string line;
  std::vector<std::map<std::string, long long>> rows;
  if (!std::getline(f, line)) return rows;
  std::vector<std::string> names;
  std::istringstream header(line);
  for (std::string n; header >> n;) names.push_back(n);
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::map<std::string, long long> row;
    std::string v;
    for (size_t i = 0; i < names.size() && in >> v; ++i) {
      row[names[i]] = std::strtoll(v.c_str(), nullptr, names[i] == "perms" ? 8 : 10);
    }
    rows.push_back(row);
  }
  return rows;
}

time_t ipc_now() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return ts.tv_sec;
}

void sleep_past_second(time_t t) {
  timespec at{t + 1, 0};
  while (::clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, nullptr) == EINTR) {
  }
  while (ipc_now() <= t) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Rendezvous::ready() {
  int i = slots.fetch_add(1);
  if (i < 64) pids[i].store(::getpid());
  n.fetch_add(1);
}

namespace {
template <class F>
bool poll_until(F done, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}
}  // namespace

bool Rendezvous::wait_for(int want, int timeout_ms) const {
  return poll_until([&] { return n.load() >= want; }, timeout_ms);
}

bool Rendezvous::go_wait(int timeout_ms) const {
  return poll_until([&] { return released.load(); }, timeout_ms);
}

}  // namespace ipcb::conform
