// Peer process spawning and the watchdog (see peer.h).
#include "harness/run/peer.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <system_error>

#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {
constexpr uint64_t kPollNs = 10'000'000;      // how often the watchdog looks
constexpr uint64_t kGraceNs = 1'000'000'000;  // beyond the stall deadline, after the peer went
}  // namespace

std::string PeerExit::describe(const std::string& who) const {
  std::string s;
  if (segment_fault) {
    s = "a SIGBUS inside the shared segment (another process truncated it, or its memory could "
        "not be provided); " +
        who + " stopped by the harness";
  } else if (hung) {
    s = who + " made no progress before the deadline and was killed";
  } else if (signal != 0) {
    s = who + " killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  } else if (exited) {
    s = who + " exited with status " + std::to_string(code);
  } else {
    s = who + " state unknown";
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
      on_gone_(std::move(on_gone)) {}

Status PeerProcess::start_watchdog() {
  // The watchdog wakes when the peer exits rather than at its next look, so a session ends as
  // soon as its peer does (without a pidfd, at the next look).
  if (auto fd = sys::pidfd_open(pid_)) exited_fd_ = std::move(*fd);
  try {
    watchdog_ = std::thread([this] { watch(); });
  } catch (const std::system_error& e) {
    // Threads count against RLIMIT_NPROC like processes; without a watchdog the peer must go.
    sys::kill_process(pid_);
    (void)sys::wait_child(pid_);
    manifest::forget_peer_pid(pid_);
    abort_.store(true);
    auto nproc = sys::soft_rlimit(RLIMIT_NPROC, "RLIMIT_NPROC");
    return Error{"pthread_create", "the peer's watchdog thread", e.code().value(),
                 "threads and processes of this user are limited by RLIMIT_NPROC = " +
                     (nproc ? std::to_string(*nproc) : std::string("?")) + " (ulimit -u)"};
  }
  return ok_status();
}

Result<std::unique_ptr<PeerProcess>> PeerProcess::spawn(const std::vector<std::string>& args,
                                                        const std::vector<int>& inherit_fds,
                                                        uint64_t stall_ns, std::atomic<bool>& abort,
                                                        std::function<void()> on_gone) {
  IPCB_TRY(auto out, sys::make_pipe(O_CLOEXEC));
  IPCB_TRY(auto err, sys::make_pipe(O_CLOEXEC));
  std::vector<std::string> argv = {"/proc/self/exe"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid =
      sys::fork_exec("/proc/self/exe", argv, out.second.get(), err.second.get(), inherit_fds);
  if (!pid) {
    Error e = pid.error();
    if (e.err == EAGAIN) {
      auto nproc = sys::soft_rlimit(RLIMIT_NPROC, "RLIMIT_NPROC");
      e.detail = "processes of this user are limited by RLIMIT_NPROC = " +
                 (nproc ? std::to_string(*nproc) : std::string("?")) + " (ulimit -u)";
    }
    return e;
  }
  manifest::add_peer_pid(*pid);
  std::unique_ptr<PeerProcess> p(new PeerProcess(*pid, std::move(out.first), std::move(err.first),
                                                 stall_ns, abort, std::move(on_gone)));
  IPCB_TRY_STATUS(p->start_watchdog());
  return p;
}

void PeerProcess::watch() {
  uint64_t last = progress_.load(std::memory_order_relaxed);
  uint64_t last_change = sys::now_ns();
  const uint64_t faults = manifest::guarded_faults();
  bool exit_seen = false;
  for (;;) {
    if (auto reaped = sys::try_reap(pid_)) {
      status_ = reaped->status;
      usage_ = reaped->usage;
      manifest::forget_peer_pid(pid_);
      uint64_t zero = 0;
      gone_at_.compare_exchange_strong(zero, sys::now_ns());
      abort_.store(true);
      if (on_gone_) on_gone_();
      return watch_after_abort();
    }
    uint64_t now = sys::now_ns();
    uint64_t p = progress_.load(std::memory_order_relaxed);
    bool kill_it = false;
    if (manifest::guarded_faults() != faults && !segment_fault_.load()) {
      segment_fault_.store(true);
      kill_it = true;
    } else if (p != last) {
      last = p;
      last_change = now;
    } else if (now - last_change > stall_ns_ && !hung_.load()) {
      hung_.store(true);
      kill_it = true;
    }
    if (kill_it) {
      uint64_t zero = 0;
      gone_at_.compare_exchange_strong(zero, now);
      sys::kill_process(pid_);
    }
    if (exited_fd_.valid() && !exit_seen) {
      // Readable once the peer has exited: the next look reaps it (and only sleeps from then on).
      auto r = sys::poll_one(exited_fd_.get(), POLLIN, static_cast<int>(kPollNs / 1'000'000));
      if (!r) {
        sys::sleep_ns(kPollNs);
      } else if (*r != 0) {
        exit_seen = true;
      }
    } else {
      sys::sleep_ns(kPollNs);
    }
  }
}

// The peer is gone and `abort` raised: every wait of the measured side returns within a slice,
// unless it is stuck in a primitive that cannot watch the flag. Then nothing else would ever
// end the run: end the process, cleanly.
void PeerProcess::watch_after_abort() {
  uint64_t last = progress_.load(std::memory_order_relaxed);
  uint64_t last_change = sys::now_ns();
  while (!released_.load()) {
    uint64_t p = progress_.load(std::memory_order_relaxed);
    uint64_t now = sys::now_ns();
    if (p != last) {
      last = p;
      last_change = now;
    } else if (now - last_change > stall_ns_ + kGraceNs) {
      PeerExit e;
      e.hung = hung_.load();
      e.segment_fault = segment_fault_.load();
      if (WIFEXITED(status_)) e.exited = true, e.code = WEXITSTATUS(status_);
      if (WIFSIGNALED(status_)) e.signal = WTERMSIG(status_);
      manifest::emergency_exit(
          "the measured side is stuck after the " +
          e.describe("peer (pid " + std::to_string(pid_) + ")") +
          ": a wait on the shared state does not return (the state is corrupt); every IPC "
          "object was removed; exiting");
    }
    sys::sleep_ns(kPollNs);
  }
}

PeerExit PeerProcess::finish() {
  released_.store(true);
  PeerExit e;
  auto out = sys::read_all(out_.get(), "peer stdout");  // ends when the peer exits or is killed
  auto err = sys::read_all(err_.get(), "peer stderr");
  if (watchdog_.joinable()) watchdog_.join();
  e.out = out ? *out : "";
  e.err = err ? *err : "";
  e.hung = hung_.load();
  e.segment_fault = segment_fault_.load();
  if (WIFEXITED(status_)) {
    e.exited = true;
    e.code = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    e.signal = WTERMSIG(status_);
  }
  e.usage = usage_;
  return e;
}

PeerExit PeerProcess::stop_and_finish(bool* stopped_by_us) {
  // Only while not yet reaped (gone_at_ is set first): the pid is still ours.
  // A measured side that failed because the peer went (EOF, a broken pipe) often gets here
  // before the watchdog's next look: give it a few of its periods to see the exit first.
  for (int i = 0; i < 5 && gone_at_.load() == 0; ++i) sys::sleep_ns(kPollNs);
  bool running = gone_at_.load() == 0;
  if (running) {
    // Dead already but not yet reaped by the watchdog (it looks every 10 ms): not ours to claim.
    if (sys::has_exited(pid_)) {
      running = false;
    } else {
      sys::kill_process(pid_);
    }
  }
  if (stopped_by_us) *stopped_by_us = running;
  return finish();
}

PeerProcess::~PeerProcess() {
  released_.store(true);
  if (watchdog_.joinable()) {
    if (!abort_.load()) sys::kill_process(pid_);
    watchdog_.join();
  }
}

Status become_peer(pid_t expected_parent, int cpu) {
  IPCB_TRY_STATUS(sys::set_parent_death_signal(SIGKILL));
  // A closed pipe or FIFO is an EPIPE error to report, not a death (the handlers ignore
  // SIGPIPE); a SIGBUS in the shared segment (truncated by someone) exits with a message.
  manifest::install_signal_handlers();
  manifest::set_guarded_fault_exit(true);
  if (::getppid() != expected_parent) return plain_error("peer", "the parent is already gone");
  if (cpu >= 0) IPCB_TRY_STATUS(sys::pin_to_cpu(0, cpu));
  return ok_status();
}

}  // namespace ipcb
