// See sys_kernel.h.
#include "harness/sys_kernel.h"

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
namespace {

bool would_block(int e) {
  return e == EAGAIN || e == EWOULDBLOCK;
}

std::string fd_text(int fd) {
  return "fd " + std::to_string(fd);
}

std::string msg_key_text(key_t key) {
  return "msg key " + std::to_string(key);
}

timespec realtime_timespec(uint64_t ns) {
  return timespec{static_cast<time_t>(ns / 1000000000ULL), static_cast<long>(ns % 1000000000ULL)};
}

}  // namespace

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

Status make_fifo(const std::string& path, mode_t mode) {
  if (::mkfifo(path.c_str(), mode) != 0) return errno_error("mkfifo", path);
  return ok_status();
}

Result<std::pair<Fd, Fd>> make_socketpair(int type, const std::string& what) {
  int sv[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) {
    return errno_error("socketpair(AF_UNIX)", what);
  }
  return std::pair<Fd, Fd>(Fd(sv[0]), Fd(sv[1]));
}

Status set_socket_int(int fd, int level, int option, int value, const char* option_name,
                      const std::string& what) {
  if (::setsockopt(fd, level, option, &value, sizeof value) != 0) {
    return errno_error(
        std::string("setsockopt(") + option_name + ", " + std::to_string(value) + ")", what);
  }
  return ok_status();
}

Result<int> get_socket_int(int fd, int level, int option, const char* option_name,
                           const std::string& what) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, option, &value, &len) != 0) {
    return errno_error(std::string("getsockopt(") + option_name + ")", what);
  }
  return value;
}

Result<Fd> tcp_listen_loopback(int backlog) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return errno_error("socket(AF_INET, SOCK_STREAM)", "127.0.0.1");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return errno_error("bind", "127.0.0.1:0");
  }
  if (::listen(s.get(), backlog) != 0) return errno_error("listen", "127.0.0.1");
  return s;
}

Result<uint16_t> local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return errno_error("getsockname", fd_text(fd));
  }
  return ntohs(a.sin_port);
}

Result<Fd> tcp_connect_loopback(uint16_t port) {
  std::string what = "127.0.0.1:" + std::to_string(port);
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return errno_error("socket(AF_INET, SOCK_STREAM)", what);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  // connect is not restarted after EINTR (it goes on in the background); loopback rarely sees it.
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return errno_error("connect", what);
  }
  return s;
}

Result<std::optional<Fd>> accept_some(int listener) {
  int c = retry_eintr([&] { return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC); });
  if (c >= 0) return std::optional<Fd>(Fd(c));
  if (would_block(errno) || errno == ECONNABORTED) return std::optional<Fd>();
  return errno_error("accept4", fd_text(listener));
}

Result<std::optional<Datagram>> recv_record(int fd, std::span<std::byte> buf,
                                            const std::string& what) {
  iovec iov{buf.data(), buf.size()};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  ssize_t n = retry_eintr([&] { return ::recvmsg(fd, &m, 0); });
  if (n >= 0) {
    return std::optional<Datagram>(
        Datagram{static_cast<size_t>(n), (m.msg_flags & MSG_TRUNC) != 0});
  }
  if (would_block(errno)) return std::optional<Datagram>();
  return errno_error("recvmsg", what);
}

Mq& Mq::operator=(Mq&& o) noexcept {
  if (this != &o) {
    reset();
    mqd_ = o.release();
  }
  return *this;
}

void Mq::reset() {
  if (mqd_ >= 0) ::mq_close(mqd_);
  mqd_ = -1;
}

Result<Mq> mq_create_excl(const std::string& name, int flags, long maxmsg, long msgsize) {
  mq_attr attr{};
  attr.mq_maxmsg = maxmsg;
  attr.mq_msgsize = msgsize;
  mqd_t q = ::mq_open(name.c_str(), flags | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  if (q == static_cast<mqd_t>(-1)) {
    std::string detail;
    if (errno == EINVAL) {
      detail = "mq_msgsize above fs.mqueue.msgsize_max or mq_maxmsg above fs.mqueue.msg_max";
    }
    if (errno == EMFILE) detail = "RLIMIT_MSGQUEUE (ulimit -q) is too small for the queue";
    if (errno == ENOSPC) detail = "fs.mqueue.queues_max queues exist already";
    return errno_error(
        "mq_open(O_CREAT|O_EXCL)",
        name + ", maxmsg " + std::to_string(maxmsg) + ", msgsize " + std::to_string(msgsize),
        detail);
  }
  return Mq(q);
}

Result<Mq> mq_open_existing(const std::string& name, int flags) {
  mqd_t q = ::mq_open(name.c_str(), flags | O_CLOEXEC);
  if (q == static_cast<mqd_t>(-1)) return errno_error("mq_open", name);
  return Mq(q);
}

Result<MqAttr> mq_attributes(const Mq& q, const std::string& what) {
  mq_attr a{};
  if (::mq_getattr(q.get(), &a) != 0) return errno_error("mq_getattr", what);
  return MqAttr{a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs};
}

Status mq_remove(const std::string& name) {
  if (::mq_unlink(name.c_str()) != 0 && errno != ENOENT) return errno_error("mq_unlink", name);
  return ok_status();
}

uint64_t realtime_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

Result<bool> mq_send_msg(const Mq& q, std::span<const std::byte> msg, uint64_t deadline_realtime_ns,
                         const std::string& what) {
  const char* p = reinterpret_cast<const char*>(msg.data());
  timespec ts = realtime_timespec(deadline_realtime_ns);
  int r = retry_eintr([&] {
    return deadline_realtime_ns != 0 ? ::mq_timedsend(q.get(), p, msg.size(), 0, &ts)
                                     : ::mq_send(q.get(), p, msg.size(), 0);
  });
  if (r == 0) return true;
  if (would_block(errno) || errno == ETIMEDOUT) return false;
  return errno_error(deadline_realtime_ns != 0 ? "mq_timedsend" : "mq_send", what);
}

Result<std::optional<size_t>> mq_recv_msg(const Mq& q, std::span<std::byte> buf,
                                          uint64_t deadline_realtime_ns, const std::string& what) {
  char* p = reinterpret_cast<char*>(buf.data());
  timespec ts = realtime_timespec(deadline_realtime_ns);
  ssize_t n = retry_eintr([&] {
    return deadline_realtime_ns != 0 ? ::mq_timedreceive(q.get(), p, buf.size(), nullptr, &ts)
                                     : ::mq_receive(q.get(), p, buf.size(), nullptr);
  });
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (would_block(errno) || errno == ETIMEDOUT) return std::optional<size_t>();
  return errno_error(deadline_realtime_ns != 0 ? "mq_timedreceive" : "mq_receive", what);
}

Result<int> msgget_create_excl(key_t key) {
  int id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  if (id < 0) {
    std::string detail;
    if (errno == ENOSPC) detail = "kernel.msgmni queues exist already";
    return errno_error("msgget(IPC_CREAT|IPC_EXCL)", msg_key_text(key), detail);
  }
  return id;
}

Result<int> msgget_existing(key_t key) {
  int id = ::msgget(key, 0);
  if (id < 0) return errno_error("msgget", msg_key_text(key));
  return id;
}

Result<MsgQueueInfo> msg_stat(int id) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) {
    return errno_error("msgctl(IPC_STAT)", "msg id " + std::to_string(id));
  }
  return MsgQueueInfo{ds.msg_perm.uid, ds.msg_perm.cuid, static_cast<mode_t>(ds.msg_perm.mode),
                      static_cast<size_t>(ds.msg_qbytes)};
}

Status msg_rmid(int id) {
  if (::msgctl(id, IPC_RMID, nullptr) != 0 && errno != EINVAL && errno != EIDRM) {
    return errno_error("msgctl(IPC_RMID)", "msg id " + std::to_string(id));
  }
  return ok_status();
}

Result<bool> msg_send(int id, const void* msgp, size_t text_bytes, bool nowait) {
  int r = retry_eintr([&] { return ::msgsnd(id, msgp, text_bytes, nowait ? IPC_NOWAIT : 0); });
  if (r == 0) return true;
  if (nowait && errno == EAGAIN) return false;
  std::string detail;
  if (errno == EINVAL) detail = "the message may exceed kernel.msgmax";
  return errno_error("msgsnd", "msg id " + std::to_string(id), detail);
}

Result<std::optional<size_t>> msg_recv(int id, void* msgp, size_t max_text, bool nowait) {
  ssize_t n = retry_eintr([&] { return ::msgrcv(id, msgp, max_text, 0, nowait ? IPC_NOWAIT : 0); });
  if (n >= 0) return std::optional<size_t>(static_cast<size_t>(n));
  if (nowait && errno == ENOMSG) return std::optional<size_t>();
  return errno_error("msgrcv", "msg id " + std::to_string(id));
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

}  // namespace ipcb::sys

namespace ipcb::sys {

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
