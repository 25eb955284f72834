// Peer process spawning and the watchdog (see peer.h).
#include "harness/peer.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "harness/manifest.h"

extern char** environ;

namespace ipcb {
namespace {
constexpr uint64_t kPollNs = 10'000'000;  // how often the watchdog looks
}

std::string PeerExit::describe() const {
  std::string s;
  if (hung) {
    s = "peer made no progress before the deadline and was killed";
  } else if (signal != 0) {
    s = "peer killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else if (exited) {
    s = "peer exited with status " + std::to_string(code);
  } else {
    s = "peer state unknown";
  }
  std::string e = err;
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ')) e.pop_back();
  if (!e.empty()) s += ": " + e;
  return s;
}

PeerProcess::PeerProcess(pid_t pid, sys::Fd out, sys::Fd err, uint64_t stall_ns,
                         std::atomic<bool>& abort, std::function<void()> on_gone)
    : pid_(pid),
      out_(std::move(out)),
      err_(std::move(err)),
      stall_ns_(stall_ns),
      abort_(abort),
      on_gone_(std::move(on_gone)) {
  watchdog_ = std::thread([this] { watch(); });
}

Result<std::unique_ptr<PeerProcess>> PeerProcess::spawn(const std::vector<std::string>& args,
                                                        const std::vector<int>& inherit_fds,
                                                        uint64_t stall_ns, std::atomic<bool>& abort,
                                                        std::function<void()> on_gone) {
  IPCB_TRY(auto out, sys::make_pipe(O_CLOEXEC));
  IPCB_TRY(auto err, sys::make_pipe(O_CLOEXEC));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out.second.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err.second.get(), STDERR_FILENO);
  // dup2 onto itself clears FD_CLOEXEC (glibc >= 2.29), so exactly these survive exec.
  for (int fd : inherit_fds) posix_spawn_file_actions_adddup2(&fa, fd, fd);
  std::vector<std::string> argv_s = {"/proc/self/exe"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    return errno_error("posix_spawn", "/proc/self/exe peer");
  }
  manifest::add_peer_pid(pid);
  return std::unique_ptr<PeerProcess>(new PeerProcess(
      pid, std::move(out.first), std::move(err.first), stall_ns, abort, std::move(on_gone)));
}

void PeerProcess::watch() {
  uint64_t last = progress_.load(std::memory_order_relaxed);
  uint64_t last_change = sys::now_ns();
  for (;;) {
    int status = 0;
    rusage ru{};
    pid_t r = ::wait4(pid_, &status, WNOHANG, &ru);
    if (r == pid_) {
      status_ = status;
      usage_ = ru;
      manifest::forget_peer_pid(pid_);
      abort_.store(true);
      if (on_gone_) on_gone_();
      return;
    }
    uint64_t now = sys::now_ns();
    uint64_t p = progress_.load(std::memory_order_relaxed);
    if (p != last) {
      last = p;
      last_change = now;
    } else if (now - last_change > stall_ns_ && !hung_.load()) {
      hung_.store(true);
      ::kill(pid_, SIGKILL);
    }
    sys::sleep_ns(kPollNs);
  }
}

PeerExit PeerProcess::finish() {
  PeerExit e;
  auto out = sys::read_all(out_.get(), "peer stdout");  // ends when the peer exits or is killed
  auto err = sys::read_all(err_.get(), "peer stderr");
  if (watchdog_.joinable()) watchdog_.join();
  e.out = out ? *out : "";
  e.err = err ? *err : "";
  e.hung = hung_.load();
  if (WIFEXITED(status_)) {
    e.exited = true;
    e.code = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    e.signal = WTERMSIG(status_);
  }
  e.usage = usage_;
  return e;
}

std::string PeerProcess::what_happened() {
  if (!abort_.load()) ::kill(pid_, SIGKILL);  // only while not yet reaped: the pid is still ours
  return finish().describe();
}

PeerProcess::~PeerProcess() {
  if (watchdog_.joinable()) {
    if (!abort_.load()) ::kill(pid_, SIGKILL);
    watchdog_.join();
  }
}

Status become_peer(pid_t expected_parent, int cpu) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return errno_error("prctl(PR_SET_PDEATHSIG)", "");
  // A closed pipe or FIFO is an EPIPE error to report, not a death (the handlers ignore
  // SIGPIPE); a SIGBUS in the shared segment (truncated by someone) exits with a message.
  manifest::install_signal_handlers();
  manifest::set_guarded_fault_exit(true);
  if (::getppid() != expected_parent) return plain_error("peer", "the parent is already gone");
  if (cpu >= 0) IPCB_TRY_STATUS(sys::pin_to_cpu(0, cpu));
  return ok_status();
}

}  // namespace ipcb
