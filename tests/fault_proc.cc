// Process, memory and ptrace helpers of the fault tests (see fault_proc.h).
#include "tests/fault_proc.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "tests/fault_util.h"
#include "tests/process_util.h"

namespace ipcb::test::fault {
namespace fs = std::filesystem;

char proc_state(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

std::vector<pid_t> live_children(pid_t pid) {
  std::vector<pid_t> out;
  for (pid_t c : children_of(pid)) {
    char s = proc_state(c);
    if (s != 0 && s != 'Z' && s != 'X') out.push_back(c);
  }
  return out;
}

namespace {
bool running(pid_t pid) {
  char s = proc_state(pid);
  return s != 0 && s != 'Z' && s != 'X';
}
}  // namespace

pid_t first_peer(pid_t harness, double timeout_s) {
  double t0 = now_s();
  while (now_s() - t0 < timeout_s && running(harness)) {
    auto kids = live_children(harness);
    if (!kids.empty()) return kids.front();
    ::usleep(200);
  }
  return -1;
}

bool wait_exec(pid_t peer, pid_t parent, double timeout_s) {
  const std::string parent_comm = read_file("/proc/" + std::to_string(parent) + "/comm");
  double t0 = now_s();
  while (now_s() - t0 < timeout_s && running(peer)) {
    if (read_file("/proc/" + std::to_string(peer) + "/comm") != parent_comm) return true;
    ::usleep(50);
  }
  return false;
}

std::vector<pid_t> steady_peers(pid_t harness, size_t n, double stable_s, double timeout_s) {
  double t0 = now_s(), since = now_s();
  std::vector<pid_t> seen;
  while (now_s() - t0 < timeout_s && running(harness)) {
    auto kids = live_children(harness);
    // A child that has not exec'd yet is inside posix_spawn (its parent waits for it): not a
    // running peer. Under load that window can last long enough to look steady.
    const std::string comm = read_file("/proc/" + std::to_string(harness) + "/comm");
    std::erase_if(
        kids, [&](pid_t k) { return read_file("/proc/" + std::to_string(k) + "/comm") == comm; });
    if (kids.size() != n) kids.clear();
    if (kids != seen) {
      seen = kids;
      since = now_s();
    } else if (!kids.empty() && now_s() - since >= stable_s) {
      return kids;
    }
    ::usleep(2000);
  }
  return {};
}

pid_t steady_peer(pid_t harness, double stable_s, double timeout_s) {
  auto kids = steady_peers(harness, 1, stable_s, timeout_s);
  return kids.empty() ? -1 : kids.front();
}

bool freeze(pid_t pid) {
  if (::kill(pid, SIGSTOP) != 0) return false;
  for (int i = 0; i < 2000; ++i) {
    bool all = true;
    std::error_code ec;
    for (const auto& t : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::string stat = read_file(t.path().string() + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos || close + 2 >= stat.size()) continue;
      char s = stat[close + 2];
      if (s != 'T' && s != 't' && s != 'Z' && s != 'X') all = false;
    }
    if (ec) return false;
    if (all) return true;
    ::usleep(100);
  }
  return false;
}

void thaw(pid_t pid) {
  ::kill(pid, SIGCONT);
}

std::vector<Mapping> mappings(pid_t pid) {
  std::vector<Mapping> out;
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/maps"));
  std::string line;
  while (std::getline(in, line)) {
    // start-end perms offset dev inode path...
    std::istringstream f(line);
    std::string range, perms, offset, dev, inode;
    f >> range >> perms >> offset >> dev >> inode;
    Mapping m;
    if (std::sscanf(range.c_str(), "%lx-%lx", &m.start, &m.end) != 2) continue;
    std::getline(f >> std::ws, m.path);
    if (perms.size() == 4 && perms[3] == 's') out.push_back(m);  // shared mappings only
  }
  return out;
}

std::optional<Mapping> find_segment(pid_t pid, const std::string& backend, size_t bytes,
                                    const std::string& mmap_dir) {
  std::string prefix = backend == "sysv_shm"    ? "/SYSV"
                       : backend == "posix_shm" ? "/dev/shm/ipcbench-"
                       : backend == "memfd"     ? "/memfd:ipcbench"
                                                : mmap_dir + "/ipcbench-";
  for (const auto& m : mappings(pid)) {
    if (m.size() == bytes && m.path.rfind(prefix, 0) == 0) return m;
  }
  return std::nullopt;
}

bool peek(pid_t pid, uintptr_t addr, void* data, size_t n) {
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t r = ::pread(fd, data, n, static_cast<off_t>(addr));
  ::close(fd);
  return r == static_cast<ssize_t>(n);
}

bool poke(pid_t pid, uintptr_t addr, const void* data, size_t n) {
  int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t r = ::pwrite(fd, data, n, static_cast<off_t>(addr));
  ::close(fd);
  return r == static_cast<ssize_t>(n);
}

int open_mapped_file(pid_t pid, const Mapping& m) {
  char name[64];
  std::snprintf(name, sizeof name, "%lx-%lx", m.start, m.end);
  return ::open(("/proc/" + std::to_string(pid) + "/map_files/" + name).c_str(),
                O_RDWR | O_CLOEXEC);
}

MountNs::MountNs(const std::function<bool()>& setup) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(ready[0]);
    bool ok = ::unshare(CLONE_NEWNS) == 0 &&
              ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 && setup();
    if (!ok) _exit(1);
    char c = 1;
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    for (;;) ::pause();  // ended by SIGKILL from the destructor
  }
  ::close(ready[1]);
  char c = 0;
  bool up = pid_ > 0 && ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  if (up) fd_ = ::open(("/proc/" + std::to_string(pid_) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
}

MountNs::~MountNs() {
  if (fd_ >= 0) ::close(fd_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

std::function<bool()> MountNs::join(std::function<bool()> then) const {
  int fd = fd_;
  return [fd, then] { return ::setns(fd, CLONE_NEWNS) == 0 && (!then || then()); };
}

std::unique_ptr<Tracer> catch_spawned_child(pid_t parent, double timeout_s) {
  if (::ptrace(PTRACE_SEIZE, parent, nullptr, PTRACE_O_TRACEVFORK) != 0) return nullptr;
  double t0 = now_s();
  pid_t child = -1;
  while (child < 0 && now_s() - t0 < timeout_s) {
    int st = 0;
    pid_t r = ::waitpid(parent, &st, __WALL | WNOHANG);
    if (r == 0) {
      ::usleep(50);
      continue;
    }
    if (r != parent || !WIFSTOPPED(st)) return nullptr;  // the harness ended
    int inject = 0;
    if (st >> 16 == PTRACE_EVENT_VFORK) {
      unsigned long msg = 0;
      ::ptrace(PTRACE_GETEVENTMSG, parent, nullptr, &msg);
      child = static_cast<pid_t>(msg);
    } else if (st >> 16 == 0) {
      inject = WSTOPSIG(st);  // a signal for the harness: deliver it
    }
    if (child > 0) break;
    ::ptrace(PTRACE_CONT, parent, nullptr, inject);
  }
  // Let the harness go (into its wait for the child, or on, when no child came).
  ::ptrace(PTRACE_DETACH, parent, nullptr, nullptr);
  if (child < 0) return nullptr;
  // The new child is traced by us from birth and reports its first stop before it runs.
  std::unique_ptr<Tracer> t(new Tracer(child, true));
  if (!t->hold(timeout_s)) return nullptr;
  return t;
}

Tracer::Tracer(pid_t pid) : pid_(pid) {
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) return;
  attached_ = true;
  if (::ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr) != 0) detach(0);
}

Tracer::~Tracer() {
  if (attached_) detach(0);
}

void Tracer::detach(int sig) {
  // Detaching needs a ptrace-stop; a running tracee is interrupted first.
  if (::ptrace(PTRACE_DETACH, pid_, nullptr, sig) != 0 &&
      ::ptrace(PTRACE_INTERRUPT, pid_, nullptr, nullptr) == 0) {
    int st = 0;
    ::waitpid(pid_, &st, __WALL);
    ::ptrace(PTRACE_DETACH, pid_, nullptr, sig);
  }
  attached_ = false;
}

bool Tracer::hold(double timeout_s) {
  double t0 = now_s();
  while (attached_ && now_s() - t0 < timeout_s) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, __WALL | WNOHANG);
    if (r == pid_ && WIFSTOPPED(st)) return true;
    if (r == pid_ || r < 0) attached_ = false;  // it died
    ::usleep(20);
  }
  return false;
}

bool Tracer::run_to_write(int fd, double timeout_s) {
  return run_to(
      [fd](long nr, uint64_t arg0) {
        return (nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64) &&
               static_cast<int>(arg0) == fd;
      },
      timeout_s);
}

bool Tracer::run_to_syscall(long nr, double timeout_s) {
  return run_to([nr](long n, uint64_t) { return n == nr; }, timeout_s);
}

bool Tracer::run_to(const std::function<bool(long, uint64_t)>& stop_at, double timeout_s) {
  if (!attached_) return false;
  double t0 = now_s();
  int inject = 0;  // a signal to deliver on the next resume
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, __WALL | WNOHANG);
    if (r == 0) {
      if (now_s() - t0 > timeout_s) {
        detach(0);
        return false;
      }
      ::usleep(20);
      continue;
    }
    if (r != pid_ || WIFEXITED(st) || WIFSIGNALED(st)) {
      attached_ = false;  // gone
      return false;
    }
    if (!WIFSTOPPED(st)) continue;
    int sig = WSTOPSIG(st);
    if (sig == (SIGTRAP | 0x80)) {  // a syscall stop
      __ptrace_syscall_info info{};
      if (::ptrace(PTRACE_GET_SYSCALL_INFO, pid_, sizeof info, &info) > 0 &&
          info.op == PTRACE_SYSCALL_INFO_ENTRY &&
          stop_at(static_cast<long>(info.entry.nr), info.entry.args[0])) {
        return true;
      }
      inject = 0;
    } else if (st >> 16 == PTRACE_EVENT_STOP) {
      inject = 0;  // the interrupt (or a group-stop): nothing to deliver
    } else {
      inject = sig;  // a signal meant for the tracee: pass it on
    }
    if (::ptrace(PTRACE_SYSCALL, pid_, nullptr, inject) != 0) {
      attached_ = false;
      return false;
    }
  }
}

void Tracer::kill_held() {
  ::kill(pid_, SIGKILL);
  // A dead tracee is reported to its tracer first: only once we have collected it does its
  // real parent (the harness) learn of the death and reap it.
  for (int i = 0; i < 2000; ++i) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, __WALL | WNOHANG);
    if (r < 0 || (r == pid_ && (WIFEXITED(st) || WIFSIGNALED(st)))) break;
    ::usleep(500);
  }
  attached_ = false;
}

void Tracer::detach_stopped() {
  ::kill(pid_, SIGSTOP);
  detach(0);
}

}  // namespace ipcb::test::fault
