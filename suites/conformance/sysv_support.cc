// The helpers of sysv_support.h.
#include "suites/conformance/sysv_support.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace ipcb::conform {
namespace {

// True if thread `tid` (of this process, or a process) sits in one of the system calls `nrs`,
// read from /proc/.../syscall. Where that file cannot be read (no CONFIG_HAVE_ARCH_TRACEHOOK,
// or no ptrace access to a process after a credential change) the state alone has to do: true.
bool in_one_of(pid_t tid, const std::vector<long>& nrs) {
  const std::string id = std::to_string(tid);
  std::ifstream f("/proc/self/task/" + id + "/syscall");
  if (!f) f = std::ifstream("/proc/" + id + "/syscall");
  std::string first;
  if (!(f >> first)) return true;
  if (first == "running") return false;
  long nr = std::strtol(first.c_str(), nullptr, 10);
  for (long want : nrs) {
    if (nr == want) return true;
  }
  return false;
}

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

ChildResult run_faulting_child(const std::function<int()>& fn) {
  return run_in_child([&fn] {
    ::prctl(PR_SET_DUMPABLE, 0);
    rlimit none{0, 0};
    ::setrlimit(RLIMIT_CORE, &none);
    return fn();
  });
}

int mismatch(int code, const char* what, long long got, long long want) {
  std::fprintf(stderr, "child: %s: %lld, expected %lld\n", what, got, want);
  return code;
}

int create_sysv(Sysv kind, key_t key, int mode) {
  const int flags = IPC_CREAT | IPC_EXCL | mode;
  switch (kind) {
    case Sysv::kShm:
      return ::shmget(key, page_size(), flags);
    case Sysv::kMsg:
      return ::msgget(key, flags);
    case Sysv::kSem:
      return ::semget(key, 1, flags);
  }
  return -1;
}

int remove_sysv_id(Sysv kind, int id) {
  switch (kind) {
    case Sysv::kShm:
      return ::shmctl(id, IPC_RMID, nullptr);
    case Sysv::kMsg:
      return ::msgctl(id, IPC_RMID, nullptr);
    case Sysv::kSem:
      return ::semctl(id, 0, IPC_RMID);
  }
  return -1;
}

int sem_cmd(int idx, int cmd, void* buf) {
  SemArg a{};
  a.buf = static_cast<semid_ds*>(buf);
  return ::semctl(idx, 0, cmd, a);
}

ChildResult unprivileged_owner(Sysv kind, int mode,
                               const std::function<int(int id, key_t key)>& fn) {
  key_t key = unique_key();
  Cleanup sweep = sweep_key(kind, key);
  return unprivileged([kind, mode, key, &fn] {
    int id = create_sysv(kind, key, mode);
    if (id < 0) return kSetupFailed;
    Cleanup rm([kind, id] { remove_sysv_id(kind, id); });
    return fn(id, key);
  });
}

const char* sysv_suite(Sysv kind) {
  return kind == Sysv::kShm ? "SysvShm" : kind == Sysv::kMsg ? "SysvMsg" : "SysvSem";
}

bool wait_blocked_in(pid_t tid, std::initializer_list<long> nrs, int timeout_ms) {
  const std::vector<long> calls(nrs);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_until_blocked(tid, static_cast<int>(left.count()))) return false;
    if (in_one_of(tid, calls)) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

int when_blocked(const std::function<int()>& call, std::initializer_list<long> nrs,
                 const std::function<void()>& act) {
  pid_t tid = ::gettid();
  bool seen = false;
  std::thread helper([&] {
    seen = wait_blocked_in(tid, nrs);
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

ChildResult in_private_ipc_ns(const std::function<int()>& fn) {
  return run_in_child([&fn] { return enter_private_ipc_ns() ? fn() : kSkipCode; });
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
