// The one layer that talks to the kernel. Every call retries on EINTR where that is safe and
// turns a failure into an Error naming the call, the object and errno. Nothing above calls the
// kernel directly. Owners (Fd, Mapping) are move-only and release exactly once.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/utsname.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb::sys {

// Calls f() again while it fails with EINTR. Returns f's last result; errno is kept.
template <typename F>
auto retry_eintr(F&& f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == static_cast<decltype(r)>(-1) && errno == EINTR);
  return r;
}

// An owned kernel handle that is an int (-1: none), released by `Close` exactly once. Releasing
// is idempotent; a move empties the source.
template <void (*Close)(int)>
class IntHandle {
 public:
  IntHandle() = default;
  explicit IntHandle(int h) : h_(h) {}
  IntHandle(IntHandle&& o) noexcept : h_(o.release()) {}
  IntHandle& operator=(IntHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = o.release();
    }
    return *this;
  }
  IntHandle(const IntHandle&) = delete;
  IntHandle& operator=(const IntHandle&) = delete;
  ~IntHandle() { reset(); }

  int get() const { return h_; }
  bool valid() const { return h_ >= 0; }
  int release() {
    int h = h_;
    h_ = -1;
    return h;
  }
  void reset() {
    if (h_ >= 0) Close(h_);
    h_ = -1;
  }

 private:
  int h_ = -1;
};

// close(2), not retried on EINTR: the descriptor is gone either way.
void close_fd(int fd);
// An owned file descriptor.
using Fd = IntHandle<close_fd>;

// An owned mmap'd (or shmat'd) region. Unmaps (or detaches) once.
class Mapping {
 public:
  enum class Kind { kMmap, kShmat };
  Mapping() = default;
  Mapping(void* addr, size_t len, Kind kind) : addr_(addr), len_(len), kind_(kind) {}
  Mapping(Mapping&& o) noexcept;
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  std::byte* data() const { return static_cast<std::byte*>(addr_); }
  size_t size() const { return len_; }
  void reset();

 private:
  void* addr_ = nullptr;
  size_t len_ = 0;
  Kind kind_ = Kind::kMmap;
};

// --- time -------------------------------------------------------------------------------------
// CLOCK_MONOTONIC in nanoseconds: the one clock every timestamp uses (shared across processes).
uint64_t now_ns();
// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds, up to date when read.
uint64_t thread_cpu_ns();
void sleep_ns(uint64_t ns);
// Nanoseconds (a duration, or a time on any clock) as a timespec.
timespec to_timespec(uint64_t ns);
// clock_nanosleep(2) until CLOCK_MONOTONIC reaches `ns` (an early wake by a signal returns).
void sleep_until_ns(uint64_t ns);
// The calling thread's timer slack in ns (PR_GET_TIMERSLACK), and setting it (0: the default).
long timer_slack_ns();
void set_timer_slack_ns(unsigned long ns);

// --- files and descriptors ----------------------------------------------------------------------
Result<Fd> open_file(const std::string& path, int flags, mode_t mode = 0);
Status unlink_path(const std::string& path);
Status ftruncate_fd(int fd, off_t len, const std::string& what);
Result<off_t> file_size(int fd, const std::string& what);
Result<std::pair<Fd, Fd>> make_pipe(int flags);
// Writes all of buf (looping over partial writes). EPIPE is an error, not a signal.
Status write_full(int fd, std::span<const std::byte> buf, const std::string& what);
// Writes a then b as one writev (looping over partial writes).
Status writev_full(int fd, std::span<const std::byte> a, std::span<const std::byte> b,
                   const std::string& what);
// Reads exactly buf.size() bytes; end of file before that is an error naming how much came.
Status read_full(int fd, std::span<std::byte> buf, const std::string& what);
// Reads whatever remains until end of file (for small control pipes).
Result<std::string> read_all(int fd, const std::string& what);
Result<size_t> pipe_capacity(int fd);
// access(2): whether this process may use `path` with `mode` (R_OK, W_OK, X_OK).
bool path_accessible(const std::string& path, int mode);
// mkdir(2) of one folder; one that exists already is fine.
Status make_dir(const std::string& path, mode_t mode);
// Writes `text` to PATH.tmp-PID, fsyncs it and renames it over `path`: readers see the old
// file or the whole new one, never a part. The temporary file is removed on failure.
Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode);
// The folder of this process's executable (/proc/self/exe), empty if unreadable.
std::string self_exe_dir();

// --- memory -------------------------------------------------------------------------------------
Result<Mapping> map_shared(int fd, size_t len, const std::string& what);
// An anonymous MAP_SHARED mapping: memory this process shares with the children it forks.
Result<Mapping> map_anonymous_shared(size_t len, const std::string& what);
// Faults every page of a shared mapping in for writing (MADV_POPULATE_WRITE) so no page fault
// happens while timing. Fails cleanly (ENOMEM, EFAULT, ENOSPC...) when the memory cannot be
// had, instead of a SIGBUS later; only a kernel without MADV_POPULATE_WRITE (EINVAL, before
// 5.14) falls back to touching each page.
Status prefault(std::span<std::byte> region, const std::string& what);

// --- POSIX shared memory
// --------------------------------------------------------------------------
Result<Fd> shm_create_excl(const std::string& name);  // O_CREAT|O_EXCL|O_RDWR, mode 0600
Result<Fd> shm_open_existing(const std::string& name);
Status shm_remove(const std::string& name);

// --- SysV shared memory
// ---------------------------------------------------------------------------
Result<int> shmget_create_excl(key_t key, size_t bytes);  // IPC_CREAT|IPC_EXCL|0600
Result<int> shmget_existing(key_t key);
Result<Mapping> shm_attach(int id, const std::string& what);
Result<size_t> shm_segment_bytes(int id);
Status shm_rmid(int id);

// --- futex (shared, not PRIVATE: the word lives in memory mapped by two processes) --------------
// Sleeps while *word == expected, until woken or the absolute CLOCK_MONOTONIC deadline.
// Returns true if woken or the value changed, false on timeout.
Result<bool> futex_wait_until(std::atomic<uint32_t>* word, uint32_t expected, uint64_t deadline_ns);
void futex_wake_all(std::atomic<uint32_t>* word);

// --- processes ------------------------------------------------------------------------------
// fork(2) + execv(2) of `path` with `argv` (argv[0] included): in the child, `out` and `err`
// become standard output and error, the descriptors in `keep` stay open at their numbers
// (every other one is close-on-exec), and the signal mask is cleared. Unlike posix_spawn
// (vfork), the caller goes on at once, also if the child is stopped before it execs. An exec
// that fails ends the child with status 127.
Result<pid_t> fork_exec(const std::string& path, const std::vector<std::string>& argv, int out,
                        int err, const std::vector<int>& keep);

// --- processes and CPUs
// ---------------------------------------------------------------------------
// fork(2) for a short helper child: the child runs `child` and _exits with its return value,
// and is killed if the forking thread ends first (PR_SET_PDEATHSIG). Only syscalls are wise in
// `child` (no locks, no allocation: other threads may have held them at the fork).
Result<pid_t> fork_call(const std::function<int()>& child);
// waitpid(2), retried on EINTR: the child's exit status, or 128 + the signal that killed it.
Result<int> wait_child(pid_t pid);
// SIGKILL to `pid`; one that is gone already is fine.
void kill_process(pid_t pid);
// Reaps `pid` if it has exited (wait4 WNOHANG): its status and resource usage, or nothing yet.
struct Reaped {
  int status = 0;
  rusage usage{};
};
std::optional<Reaped> try_reap(pid_t pid);
// Whether child `pid` has exited, without reaping it (waitid WNOWAIT).
bool has_exited(pid_t pid);
// PR_SET_PDEATHSIG: `signal` comes to this process when its parent thread ends.
Status set_parent_death_signal(int signal);
// The calling thread's resource usage (getrusage RUSAGE_THREAD). Its CPU times lag for a thread
// that never leaves its CPU (see thread_cpu_ns).
rusage thread_usage();
// uname(2): the kernel's name, release, version and machine.
utsname kernel_uname();
Status pin_to_cpu(pid_t pid, int cpu);  // pid 0: the calling thread
Status pin_to_cpus(pid_t pid, const std::vector<int>& cpus);
std::vector<int> allowed_cpus();
// Unguessable hex string from getrandom(2).
std::string random_hex(size_t bytes);
uint32_t random_u32();
// The name of an object this process creates: PREFIX + our pid + "-" + 32 random hex digits.
// Unguessable (128 random bits), and the pid tells whose object it is (tests count leftovers
// of one run by it; `ipcbench clean --dry-run` shows it).
std::string owned_name(const std::string& prefix);
// Whether `name` has the shape owned_name(prefix) makes (any pid).
bool is_owned_name(const std::string& name, const std::string& prefix);

}  // namespace ipcb::sys

// --- POSIX unnamed semaphores living in shared memory
// ----------------------------------------------
#include <semaphore.h>
namespace ipcb::sys {
Status sem_init_shared(sem_t* sem, unsigned value);
void sem_destroy_shared(sem_t* sem);
Status sem_post_shared(sem_t* sem);
// Waits until the semaphore can be decremented (true) or the CLOCK_MONOTONIC deadline passes
// (false).
Result<bool> sem_wait_until(sem_t* sem, uint64_t deadline_ns);
}  // namespace ipcb::sys
