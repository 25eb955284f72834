// Processes, CPU affinity and unguessable names (see sys.h).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "harness/sys/sys.h"

namespace ipcb::sys {

Result<pid_t> fork_exec(const std::string& path, const std::vector<std::string>& argv, int out,
                        int err, const std::vector<int>& keep) {
  // Everything the child needs is built here: between fork and exec it may only make
  // async-signal-safe calls (the parent has other threads).
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  // No handler of ours may run in the child before exec (it would clean up the parent's
  // objects): signals stay blocked across fork, and the child resets every handler first.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_BLOCK, &all, &old);
  pid_t pid = ::fork();
  if (pid != 0) {
    int saved = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
  }
  if (pid < 0) return errno_error("fork", path);
  if (pid == 0) {
    for (int s = 1; s < NSIG; ++s) {
      struct sigaction sa {};
      if (::sigaction(s, nullptr, &sa) == 0 && sa.sa_handler != SIG_IGN &&
          sa.sa_handler != SIG_DFL) {
        ::signal(s, SIG_DFL);
      }
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(out, STDOUT_FILENO) < 0 || ::dup2(err, STDERR_FILENO) < 0) ::_exit(127);
    for (int fd : keep) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags < 0 || ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) ::_exit(127);
    }
    ::execv(path.c_str(), args.data());
    ::_exit(127);
  }
  return pid;
}

Status pin_to_cpus(pid_t pid, const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string list;
  for (int c : cpus) {
    CPU_SET(c, &set);
    if (!list.empty()) list += ',';
    list += std::to_string(c);
  }
  if (::sched_setaffinity(pid, sizeof set, &set) != 0) {
    return errno_error("sched_setaffinity", "pid " + std::to_string(pid) + " to CPUs " + list);
  }
  return ok_status();
}

Result<pid_t> fork_call(const std::function<int()>& child) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork", "a helper child");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before the line above
    ::_exit(child());
  }
  return pid;
}

Result<int> wait_child(pid_t pid) {
  int status = 0;
  if (retry_eintr([&] { return ::waitpid(pid, &status, 0); }) < 0) {
    return errno_error("waitpid", "pid " + std::to_string(pid));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Status pin_to_cpu(pid_t pid, int cpu) {
  return pin_to_cpus(pid, {cpu});
}

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string owned_name(const std::string& prefix) {
  return prefix + std::to_string(::getpid()) + "-" + random_hex(16);
}

bool is_owned_name(const std::string& name, const std::string& prefix) {
  constexpr size_t kHex = 32;
  if (name.size() <= prefix.size() + 1 + kHex || name.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  size_t dash = name.size() - kHex - 1;
  std::string pid = name.substr(prefix.size(), dash - prefix.size());
  return name[dash] == '-' && !pid.empty() && pid.size() <= 10 &&
         pid.find_first_not_of("0123456789") == std::string::npos &&
         name.find_first_not_of("0123456789abcdef", dash + 1) == std::string::npos;
}

uint32_t random_u32() {
  uint32_t v = 0;
  while (::getrandom(&v, sizeof v, 0) != static_cast<ssize_t>(sizeof v)) {
  }
  return v;
}

void kill_process(pid_t pid) {
  ::kill(pid, SIGKILL);
}

std::optional<Reaped> try_reap(pid_t pid) {
  Reaped r;
  if (::wait4(pid, &r.status, WNOHANG, &r.usage) != pid) return std::nullopt;
  return r;
}

bool has_exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

Status set_parent_death_signal(int signal) {
  if (::prctl(PR_SET_PDEATHSIG, signal) != 0) return errno_error("prctl(PR_SET_PDEATHSIG)", "");
  return ok_status();
}

rusage thread_usage() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return ru;
}

utsname kernel_uname() {
  utsname u{};
  ::uname(&u);
  return u;
}

void sleep_until_ns(uint64_t ns) {
  const timespec ts = to_timespec(ns);
  ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

long timer_slack_ns() {
  return ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
}

void set_timer_slack_ns(unsigned long ns) {
  ::prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

}  // namespace ipcb::sys
