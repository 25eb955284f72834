// What a fault-injecting third process does to a running benchmark: find its peers, freeze and
// thaw a process, find the shared-memory segment in the harness's address space and write into
// it through /proc/PID/mem or /proc/PID/map_files, and hold a peer at a chosen syscall with
// ptrace (to kill it inside the stop handshake). Needs root (CAP_SYS_PTRACE, CAP_SYS_ADMIN).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ipcb::test::fault {

// Children of `pid` that are not zombies (the peers of a harness).
std::vector<pid_t> live_children(pid_t pid);
// The first peer of `harness` as soon as it appears (polled every ~0.2 ms), or -1 after
// `timeout_s` or when the harness ends first.
pid_t first_peer(pid_t harness, double timeout_s);
// True once `peer` has exec'd (its comm is no longer its parent's): a posix_spawn child is
// past the window in which its parent waits for it (CLONE_VFORK). False after `timeout_s`.
bool wait_exec(pid_t peer, pid_t parent, double timeout_s);
// A peer that has been the same for `stable_s` (the long measured call, not one of Google
// Benchmark's short sizing calls, each of which has its own peer), or -1.
pid_t steady_peer(pid_t harness, double stable_s, double timeout_s);
// The same for a run with `n` peers (fanin, fanout), in the order they were started.
std::vector<pid_t> steady_peers(pid_t harness, size_t n, double stable_s, double timeout_s);
// The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z', ...), or 0 when gone.
char proc_state(pid_t pid);

// SIGSTOP and wait until every thread of `pid` is stopped (true), or SIGCONT.
bool freeze(pid_t pid);
void thaw(pid_t pid);

// One mapping of /proc/PID/maps.
struct Mapping {
  uintptr_t start = 0, end = 0;
  std::string path;
  size_t size() const { return end - start; }
};
std::vector<Mapping> mappings(pid_t pid);
// The channel segment `backend` maps in `pid`: a shared mapping of `bytes` whose path is the
// backend's ("/SYSV... (deleted)", "/dev/shm/ipcbench-...", "/memfd:ipcbench ...", or a file
// under `mmap_dir`).
std::optional<Mapping> find_segment(pid_t pid, const std::string& backend, size_t bytes,
                                    const std::string& mmap_dir);
// Reads / writes another process's memory (/proc/PID/mem).
bool peek(pid_t pid, uintptr_t addr, void* data, size_t n);
bool poke(pid_t pid, uintptr_t addr, const void* data, size_t n);
template <typename T>
std::optional<T> peek_as(pid_t pid, uintptr_t addr) {
  T v{};
  if (!peek(pid, addr, &v, sizeof v)) return std::nullopt;
  return v;
}
// The file behind a mapping, opened O_RDWR through /proc/PID/map_files (for ftruncate), or -1.
int open_mapped_file(pid_t pid, const Mapping& m);

// A process that holds a private mount namespace, set up by `setup` (run in the child after
// unshare(CLONE_NEWNS) and making every mount private; syscalls only). Runs join it through
// join() as their Spawn::prepare; its files are reachable from outside under outside(). The
// destructor kills the holder, and the namespace (with any tmpfs mounted in it) goes with it.
class MountNs {
 public:
  explicit MountNs(const std::function<bool()>& setup);
  ~MountNs();
  MountNs(const MountNs&) = delete;
  MountNs& operator=(const MountNs&) = delete;
  bool ok() const { return fd_ >= 0; }
  std::string outside(const std::string& inside) const {
    return "/proc/" + std::to_string(pid_) + "/root" + inside;
  }
  std::function<bool()> join(std::function<bool()> then = {}) const;

 private:
  pid_t pid_ = -1;
  int fd_ = -1;  // /proc/PID/ns/mnt
};

class Tracer;
// Attaches to `parent` (its main thread, which spawns the peers) until it vforks (posix_spawn),
// lets the parent go on into its wait for the child, and returns the child held in its first
// ptrace stop, before it ran a single instruction of its own (so before its exec); nullptr
// after `timeout_s`.
std::unique_ptr<Tracer> catch_spawned_child(pid_t parent, double timeout_s);

// Holds one process under ptrace. All calls must come from the thread that attached (ptrace
// ties a tracee to its tracer thread). The destructor detaches if still attached.
class Tracer {
 public:
  explicit Tracer(pid_t pid);  // PTRACE_SEIZE + PTRACE_INTERRUPT; attached() says if it worked
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  bool attached() const { return attached_; }
  pid_t pid() const { return pid_; }
  // Waits for the stop PTRACE_INTERRUPT asked for: true with the tracee held there.
  bool hold(double timeout_s = 2);
  // Lets the tracee run, stopping at every syscall, until it enters write/writev/pwrite on
  // descriptor `fd`: true with the tracee held in that syscall-enter stop; false if it exited
  // or `timeout_s` passed (then it is detached and left running).
  bool run_to_write(int fd, double timeout_s);
  // The same for the first entry into syscall `nr` (any arguments).
  bool run_to_syscall(long nr, double timeout_s);
  // Ends the held tracee with SIGKILL.
  void kill_held();
  // Lets the held tracee go on as if nothing happened.
  void release() { detach(0); }
  // Leaves the held tracee stopped (a pending SIGSTOP, then detach): as if SIGSTOPped there.
  void detach_stopped();

 private:
  bool run_to(const std::function<bool(long nr, uint64_t arg0)>& stop_at, double timeout_s);
  friend std::unique_ptr<Tracer> catch_spawned_child(pid_t, double);
  Tracer(pid_t pid, bool attached) : pid_(pid), attached_(attached) {}
  void detach(int sig);
  pid_t pid_;
  bool attached_ = false;
};

}  // namespace ipcb::test::fault
