// Implementation of the syscall layer (see sys.h; processes, CPUs and names: sys_process.cc).
#include "harness/sys/sys.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace ipcb::sys {
namespace {

std::string key_text(key_t key) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key 0x%08x", static_cast<unsigned>(key));
  return buf;
}

}  // namespace

timespec to_timespec(uint64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000ULL), static_cast<long>(ns % 1000000000ULL)};
}

void close_fd(int fd) {
  ::close(fd);
}

Mapping::Mapping(Mapping&& o) noexcept : addr_(o.addr_), len_(o.len_), kind_(o.kind_) {
  o.addr_ = nullptr;
  o.len_ = 0;
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    reset();
    addr_ = o.addr_;
    len_ = o.len_;
    kind_ = o.kind_;
    o.addr_ = nullptr;
    o.len_ = 0;
  }
  return *this;
}

void Mapping::reset() {
  if (addr_ == nullptr) return;
  if (kind_ == Kind::kShmat) {
    ::shmdt(addr_);
  } else {
    ::munmap(addr_, len_);
  }
  addr_ = nullptr;
  len_ = 0;
}

namespace {
uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

uint64_t now_ns() {
  return clock_ns(CLOCK_MONOTONIC);
}

uint64_t thread_cpu_ns() {
  return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void sleep_ns(uint64_t ns) {
  timespec req = to_timespec(ns);
  while (::nanosleep(&req, &req) == -1 && errno == EINTR) {
  }
}

Result<Fd> open_file(const std::string& path, int flags, mode_t mode) {
  int fd = retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return errno_error("open", path);
  return Fd(fd);
}

Status unlink_path(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("unlink", path);
  return ok_status();
}

Status ftruncate_fd(int fd, off_t len, const std::string& what) {
  if (retry_eintr([&] { return ::ftruncate(fd, len); }) != 0) {
    return errno_error("ftruncate", what + ", " + std::to_string(len) + " bytes");
  }
  return ok_status();
}

Result<off_t> file_size(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("fstat", what);
  return st.st_size;
}

Result<std::pair<Fd, Fd>> make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags) != 0) return errno_error("pipe2", "");
  return std::pair<Fd, Fd>(Fd(fds[0]), Fd(fds[1]));
}

Status write_full(int fd, std::span<const std::byte> buf, const std::string& what) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(
          "write", what,
          std::to_string(done) + " of " + std::to_string(buf.size()) + " bytes written");
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Status writev_full(int fd, std::span<const std::byte> a, std::span<const std::byte> b,
                   const std::string& what) {
  iovec iov[2] = {{const_cast<std::byte*>(a.data()), a.size()},
                  {const_cast<std::byte*>(b.data()), b.size()}};
  size_t total = a.size() + b.size();
  size_t done = 0;
  int first = 0;
  while (done < total) {
    ssize_t n = ::writev(fd, iov + first, 2 - first);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("writev", what,
                         std::to_string(done) + " of " + std::to_string(total) + " bytes written");
    }
    done += static_cast<size_t>(n);
    // Skip what was written: a partial write can end inside either buffer.
    size_t left = static_cast<size_t>(n);
    while (first < 2 && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (first < 2) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return ok_status();
}

Status read_full(int fd, std::span<std::byte> buf, const std::string& what) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read", what);
    }
    if (n == 0) {
      return Error{"read", what, 0,
                   "end of file after " + std::to_string(done) + " of " +
                       std::to_string(buf.size()) + " bytes (the peer closed its end)"};
    }
    done += static_cast<size_t>(n);
  }
  return ok_status();
}

Result<std::string> read_all(int fd, const std::string& what) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) return errno_error("read", what);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<size_t> pipe_capacity(int fd) {
  int n = ::fcntl(fd, F_GETPIPE_SZ);
  if (n < 0) return errno_error("fcntl(F_GETPIPE_SZ)", "fd " + std::to_string(fd));
  return static_cast<size_t>(n);
}

Result<Mapping> map_shared(int fd, size_t len, const std::string& what) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return errno_error("mmap", what + ", " + std::to_string(len) + " bytes");
  return Mapping(p, len, Mapping::Kind::kMmap);
}

Result<Mapping> map_anonymous_shared(size_t len, const std::string& what) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return errno_error("mmap(MAP_SHARED|MAP_ANONYMOUS)", what);
  return Mapping(p, len, Mapping::Kind::kMmap);
}

Status prefault(std::span<std::byte> region, const std::string& what) {
#ifdef MADV_POPULATE_WRITE
  // Faults every page in for writing without touching its content (Linux >= 5.14).
  int r = 0;
  do {
    r = ::madvise(region.data(), region.size(), MADV_POPULATE_WRITE);
  } while (r != 0 && errno == EINTR);
  if (r == 0) return ok_status();
  if (errno != EINVAL) {
    return errno_error("madvise(MADV_POPULATE_WRITE)",
                       what + ", " + std::to_string(region.size()) + " bytes",
                       "the memory for the segment cannot be had (a full tmpfs, a memory cgroup "
                       "limit, or RAM)");
  }
#endif
  // Fallback: an atomic add of zero per page. Atomic, because the peer may already be writing
  // to this memory: a plain read-then-write could undo its store.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  for (size_t off = 0; off < region.size(); off += page) {
    __atomic_fetch_add(reinterpret_cast<unsigned char*>(region.data() + off), 0, __ATOMIC_RELAXED);
  }
  return ok_status();
}

Result<Fd> shm_create_excl(const std::string& name) {
  int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("shm_open(O_CREAT|O_EXCL)", name);
  return Fd(fd);
}

Result<Fd> shm_open_existing(const std::string& name) {
  int fd = ::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return errno_error("shm_open", name);
  return Fd(fd);
}

Status shm_remove(const std::string& name) {
  if (::shm_unlink(name.c_str()) != 0 && errno != ENOENT) return errno_error("shm_unlink", name);
  return ok_status();
}

Result<int> shmget_create_excl(key_t key, size_t bytes) {
  int id = ::shmget(key, bytes, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) {
    std::string detail;
    if (errno == EINVAL) detail = "the size may exceed kernel.shmmax (sysctl -w kernel.shmmax=N)";
    if (errno == ENOSPC) detail = "kernel.shmmni or kernel.shmall is exhausted";
    return errno_error("shmget(IPC_CREAT|IPC_EXCL)",
                       key_text(key) + ", " + std::to_string(bytes) + " bytes", detail);
  }
  return id;
}

Result<int> shmget_existing(key_t key) {
  int id = ::shmget(key, 0, 0);
  if (id < 0) return errno_error("shmget", key_text(key));
  return id;
}

Result<Mapping> shm_attach(int id, const std::string& what) {
  void* p = ::shmat(id, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return errno_error("shmat", what);
  auto bytes = shm_segment_bytes(id);
  if (!bytes) {
    ::shmdt(p);
    return bytes.error();
  }
  return Mapping(p, *bytes, Mapping::Kind::kShmat);
}

Result<size_t> shm_segment_bytes(int id) {
  struct shmid_ds ds;
  if (::shmctl(id, IPC_STAT, &ds) != 0)
    return errno_error("shmctl(IPC_STAT)", "id " + std::to_string(id));
  return static_cast<size_t>(ds.shm_segsz);
}

Status shm_rmid(int id) {
  if (::shmctl(id, IPC_RMID, nullptr) != 0 && errno != EINVAL && errno != EIDRM) {
    return errno_error("shmctl(IPC_RMID)", "id " + std::to_string(id));
  }
  return ok_status();
}

Result<bool> futex_wait_until(std::atomic<uint32_t>* word, uint32_t expected,
                              uint64_t deadline_ns) {
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
                "a futex word must be a plain 32-bit integer");
  timespec ts = to_timespec(deadline_ns);
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline (futex(2)).
  long r = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_BITSET, expected, &ts,
                     nullptr, FUTEX_BITSET_MATCH_ANY);
  if (r == 0) return true;
  if (errno == EAGAIN || errno == EINTR) return true;  // value changed, or a spurious wake-up
  if (errno == ETIMEDOUT) return false;
  return errno_error("futex(FUTEX_WAIT_BITSET)", "shared word");
}

void futex_wake_all(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr,
            0);
}

Status sem_init_shared(sem_t* sem, unsigned value) {
  if (::sem_init(sem, /*pshared=*/1, value) != 0)
    return errno_error("sem_init(pshared)", "segment");
  return ok_status();
}

void sem_destroy_shared(sem_t* sem) {
  ::sem_destroy(sem);
}

Status sem_post_shared(sem_t* sem) {
  if (::sem_post(sem) != 0) return errno_error("sem_post", "segment");
  return ok_status();
}

Result<bool> sem_wait_until(sem_t* sem, uint64_t deadline_ns) {
  timespec ts = to_timespec(deadline_ns);
  for (;;) {
    if (::sem_clockwait(sem, CLOCK_MONOTONIC, &ts) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == ETIMEDOUT) return false;
    return errno_error("sem_clockwait", "segment");
  }
}

}  // namespace ipcb::sys
