// See sys_kernel.h (sockets and FIFOs: sys_socket.cc; message queues: sys_queue.cc).
#include "harness/sys/sys_kernel.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

namespace ipcb::sys {
bool would_block(int e) {
  return e == EAGAIN || e == EWOULDBLOCK;
}

std::string fd_text(int fd) {
  return "fd " + std::to_string(fd);
}

Status set_nonblocking(int fd, bool on, const std::string& what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return errno_error("fcntl(F_GETFL)", what);
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) != 0) {
    return errno_error(on ? "fcntl(F_SETFL, O_NONBLOCK)" : "fcntl(F_SETFL, ~O_NONBLOCK)", what);
  }
  return ok_status();
}

Result<int> access_mode(int fd, const std::string& what) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return errno_error("fcntl(F_GETFL)", what);
  return flags & O_ACCMODE;
}

Result<struct stat> fstat_fd(int fd, const std::string& what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("fstat", what);
  return st;
}

uid_t euid() {
  return ::geteuid();
}

Status check_private(const struct stat& st, mode_t type, const std::string& what) {
  if (type != 0 && (st.st_mode & S_IFMT) != type) {
    return plain_error(what, "not the expected kind of file");
  }
  if (st.st_uid != ::geteuid()) {
    return plain_error(what, "owned by uid " + std::to_string(st.st_uid) + ", not by this user");
  }
  if ((st.st_mode & 077) != 0) return plain_error(what, "open to group or others");
  return ok_status();
}

Result<std::string> fd_link(int fd) {
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return errno_error("readlink", path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::optional<size_t>> read_some(int fd, std::span<std::byte> buf, const std::string& what) {
  ssize_t n = retry_eintr([&] { return ::read(fd, buf.data(), buf.size()); });
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (would_block(errno)) return std::optional<size_t>();
  return errno_error("read", what);
}

Result<std::optional<size_t>> write_some(int fd, std::span<const std::byte> a,
                                         std::span<const std::byte> b, bool socket,
                                         const std::string& what) {
  iovec iov[2] = {{const_cast<std::byte*>(a.data()), a.size()},
                  {const_cast<std::byte*>(b.data()), b.size()}};
  int first = a.empty() ? 1 : 0;
  int count = (b.empty() ? 1 : 2) - first;
  if (count <= 0) return std::optional<size_t>(0);
  ssize_t n;
  if (socket) {
    msghdr m{};
    m.msg_iov = iov + first;
    m.msg_iovlen = static_cast<size_t>(count);
    n = retry_eintr([&] { return ::sendmsg(fd, &m, MSG_NOSIGNAL); });
  } else {
    n = retry_eintr([&] { return ::writev(fd, iov + first, count); });
  }
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (would_block(errno)) return std::optional<size_t>();
  return errno_error(socket ? "sendmsg" : "writev", what);
}

Result<short> poll_one(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return short{0};  // the caller re-checks and polls again
    return errno_error("poll", fd_text(fd));
  }
  return n == 0 ? short{0} : p.revents;
}

Result<Fd> memfd_create_sealable(const std::string& name) {
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return errno_error("memfd_create(MFD_CLOEXEC|MFD_ALLOW_SEALING)", name);
  return Fd(fd);
}

Result<Fd> pidfd_open(pid_t pid) {
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return errno_error("pidfd_open", "pid " + std::to_string(pid));
  return Fd(static_cast<int>(fd));
}

Status seal_size(int fd, const std::string& what) {
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    return errno_error("fcntl(F_ADD_SEALS, F_SEAL_SHRINK|F_SEAL_GROW)", what);
  }
  return ok_status();
}

Result<bool> size_sealed(int fd, const std::string& what) {
  int s = ::fcntl(fd, F_GET_SEALS);
  if (s < 0) return errno_error("fcntl(F_GET_SEALS)", what);
  return (s & F_SEAL_SHRINK) != 0;
}

Result<uint64_t> read_sysctl(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  for (char& c : path) {
    if (c == '.') c = '/';
  }
  std::ifstream f(path);
  unsigned long long v = 0;
  if (!(f >> v)) {
    errno = f.is_open() ? EINVAL : ENOENT;
    return errno_error("read", path, "cannot read " + name);
  }
  return static_cast<uint64_t>(v);
}

Result<uint64_t> soft_rlimit(int resource, const char* resource_name) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0) return errno_error("getrlimit", resource_name);
  return r.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(r.rlim_cur);
}

Result<uint64_t> fs_free_bytes(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return errno_error("statvfs", path);
  return static_cast<uint64_t>(s.f_bavail) * static_cast<uint64_t>(s.f_frsize);
}

size_t page_size() {
  return static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace ipcb::sys

namespace ipcb::sys {

Result<std::vector<uint64_t>> read_sysctl_fields(const std::string& name) {
  std::string path = "/proc/sys/" + name;
  for (char& c : path) {
    if (c == '.') c = '/';
  }
  std::ifstream f(path);
  std::vector<uint64_t> out;
  unsigned long long v = 0;
  while (f >> v) out.push_back(static_cast<uint64_t>(v));
  if (out.empty()) {
    errno = f.is_open() ? EINVAL : ENOENT;
    return errno_error("read", path, "cannot read " + name);
  }
  return out;
}

Status write_sysctl(const std::string& name, const std::string& value) {
  std::string path = "/proc/sys/" + name;
  for (char& c : path) {
    if (c == '.') c = '/';
  }
  IPCB_TRY(Fd fd, open_file(path, O_WRONLY | O_TRUNC));
  std::string text = value + "\n";
  return write_full(fd.get(), std::as_bytes(std::span(text)), path + " = " + value);
}

Result<Rlimit> get_rlimit(int resource, const char* resource_name) {
  rlimit r{};
  if (::getrlimit(resource, &r) != 0) return errno_error("getrlimit", resource_name);
  auto conv = [](rlim_t v) { return v == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(v); };
  return Rlimit{conv(r.rlim_cur), conv(r.rlim_max)};
}

Result<FsSpace> fs_space(const std::string& path) {
  struct statvfs s {};
  if (::statvfs(path.c_str(), &s) != 0) return errno_error("statvfs", path);
  return FsSpace{static_cast<uint64_t>(s.f_blocks) * s.f_frsize,
                 static_cast<uint64_t>(s.f_bavail) * s.f_frsize};
}

Result<std::string> read_text_file(const std::string& path) {
  IPCB_TRY(Fd fd, open_file(path, O_RDONLY));
  return read_all(fd.get(), path);
}

std::string read_first_line(const std::string& path) {
  auto text = read_text_file(path);
  return text ? text->substr(0, text->find('\n')) : std::string();
}

Status allocate_file(int fd, off_t len, const std::string& what) {
  int r = 0;
  do {
    r = ::posix_fallocate(fd, 0, len);  // returns the error number, does not set errno
  } while (r == EINTR);
  if (r != 0) {
    errno = r;
    return errno_error("posix_fallocate", what + ", " + std::to_string(len) + " bytes");
  }
  return ok_status();
}

Result<size_t> set_pipe_size(int fd, size_t bytes) {
  int n = ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(std::min<size_t>(bytes, INT32_MAX)));
  if (n < 0) {
    return errno_error("fcntl(F_SETPIPE_SZ, " + std::to_string(bytes) + ")", fd_text(fd));
  }
  return static_cast<size_t>(n);
}

Result<Mapping> map_anonymous(size_t len, const std::string& what) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return errno_error("mmap(MAP_ANONYMOUS)", what + ", " + std::to_string(len));
  return Mapping(p, len, Mapping::Kind::kMmap);
}

Result<int> semget_create_set(key_t key, int nsems) {
  int id = ::semget(key, nsems, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) {
    return errno_error("semget(IPC_CREAT|IPC_EXCL)",
                       "key " + std::to_string(key) + ", " + std::to_string(nsems) + " semaphores");
  }
  return id;
}

Result<Mq> mq_create_probe(const std::string& name, long maxmsg, long msgsize) {
  mq_attr attr{};
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  mqd_t q =
      ::mq_open(name.c_str(), O_RDWR | O_NONBLOCK | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) {
    return errno_error("mq_open(O_CREAT|O_EXCL)", name + ", maxmsg " + std::to_string(maxmsg) +
                                                      ", msgsize " + std::to_string(msgsize));
  }
  return Mq(q);
}

Result<bool> msg_discard(int id, long type) {
  struct {
    long mtype;
    char text[1];
  } buf{};
  ssize_t n = retry_eintr([&] { return ::msgrcv(id, &buf, 0, type, IPC_NOWAIT | MSG_NOERROR); });
  if (n >= 0) return true;
  if (errno == ENOMSG) return false;
  return errno_error("msgrcv(IPC_NOWAIT|MSG_NOERROR)", "msg id " + std::to_string(id));
}

std::string errno_name(int err) {
  const char* n = ::strerrorname_np(err);
  return n != nullptr ? n : "errno " + std::to_string(err);
}

uid_t real_uid() {
  return ::getuid();
}

Result<std::vector<std::string>> list_directory(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return errno_error("opendir", path);
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}
}  // namespace ipcb::sys
