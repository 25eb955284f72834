// FIFOs and sockets (see sys_kernel.h).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "harness/sys/sys_kernel.h"

namespace ipcb::sys {

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

}  // namespace ipcb::sys
