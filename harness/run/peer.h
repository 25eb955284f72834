// The peer: a second process of this same binary, started in peer mode, that opens the channel
// by name and plays the other side of the workload. A watchdog thread reaps it, notices when it
// exits or crashes, and kills it when the run stops making progress for the stall deadline or a
// fault hits a guarded shared mapping. Any of those raises `abort`, which every channel wait
// checks. Should the measured side still make no progress for the stall deadline after that
// (stuck in a primitive that cannot watch `abort`, on state a hostile peer broke), the
// watchdog ends the process cleanly (manifest::emergency_exit), so a run never hangs.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/sys/error.h"
#include "harness/sys/sys.h"

namespace ipcb {

struct PeerExit {
  bool exited = false;  // exited normally with `code`
  int code = 0;
  int signal = 0;              // killed by this signal
  bool hung = false;           // killed by the watchdog for making no progress
  bool segment_fault = false;  // killed by the watchdog after a fault in a guarded segment
  std::string out;             // its standard output (the result line)
  std::string err;             // its standard error (its error messages)
  rusage usage{};              // its resource usage (CPU time, context switches)
  // "<who> exited with status 3: <its error>", "<who> killed by signal 9 (Killed)", ...
  std::string describe(const std::string& who = "peer") const;
  bool clean() const { return exited && code == 0 && !hung; }
};

class PeerProcess {
 public:
  // Starts `/proc/self/exe` with `args`, keeping `inherit_fds` open at the same numbers. The
  // watchdog raises `abort` (owned by the caller, outliving this object) when the peer is gone,
  // then calls `on_gone` (from the watchdog thread) if given.
  static Result<std::unique_ptr<PeerProcess>> spawn(const std::vector<std::string>& args,
                                                    const std::vector<int>& inherit_fds,
                                                    uint64_t stall_ns, std::atomic<bool>& abort,
                                                    std::function<void()> on_gone = {});
  ~PeerProcess();  // kills the peer if it still runs, and reaps it
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  pid_t pid() const { return pid_; }
  // CLOCK_MONOTONIC when the watchdog saw it exit or had to kill it; 0 while it runs.
  uint64_t gone_at_ns() const { return gone_at_.load(); }
  // The measured side calls this as it makes progress; it resets the stall deadline.
  void progress() {
    progress_.store(progress_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  // Waits for the peer to exit (the stall deadline still applies) and collects its output.
  PeerExit finish();
  // True once the peer has exited or been killed.
  bool gone() const { return abort_.load(); }
  // Kills the peer if it still runs (saying so in *stopped_by_us), then finish().
  PeerExit stop_and_finish(bool* stopped_by_us = nullptr);

 private:
  PeerProcess(pid_t pid, sys::Fd out, sys::Fd err, uint64_t stall_ns, std::atomic<bool>& abort,
              std::function<void()> on_gone);
  Status start_watchdog();
  void watch();
  void watch_after_abort();

  pid_t pid_;
  sys::Fd out_, err_;
  sys::Fd exited_fd_;  // pidfd of the peer: readable once it has exited
  uint64_t stall_ns_;
  std::atomic<bool>& abort_;
  std::function<void()> on_gone_;
  std::atomic<bool> hung_{false};
  std::atomic<bool> segment_fault_{false};
  std::atomic<bool> released_{false};  // finish() or the destructor took over: stop watching
  std::atomic<uint64_t> gone_at_{0};
  std::atomic<uint64_t> progress_{0};
  int status_ = 0;
  rusage usage_{};
  std::thread watchdog_;
};

// Peer-mode helpers: die with the parent (PR_SET_PDEATHSIG), verify it is still the expected
// parent, and pin to `cpu` (-1: leave as is).
Status become_peer(pid_t expected_parent, int cpu);

}  // namespace ipcb
