// What the Unix socket (and memfd, TCP loopback) conformance tests share: socket pairs, text sent
// and received, a listening socket at a path in a private directory, descriptor passing
// (SCM_RIGHTS), and a check of whether a call raised SIGPIPE. Written once here, used by
// unix_socket*.cc for SOCK_STREAM and SOCK_SEQPACKET.
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {

// Both ends of socketpair(AF_UNIX, type | flags), closed when the scope ends.
struct SocketPair {
  Fd a, b;
  bool ok = false;
  explicit SocketPair(int type, int flags = 0) {
    int sv[2];
    if (::socketpair(AF_UNIX, type | flags, 0, sv) == 0) {
      a.reset(sv[0]);
      b.reset(sv[1]);
      ok = true;
    }
  }
};

// What one recv(2) of up to `max` bytes gave: the bytes, or "<errno name>" / "<EOF>".
inline std::string recv_text(int fd, size_t max = 64, int flags = 0) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, std::min(max, sizeof buf), flags);
  if (n < 0) return std::string("<") + strerrorname_np(errno) + ">";
  return n == 0 ? "<EOF>" : std::string(buf, static_cast<size_t>(n));
}

// send(2) of `s`; send's result (-1, errno). MSG_NOSIGNAL unless other flags are given.
inline ssize_t send_text(int fd, const std::string& s, int flags = MSG_NOSIGNAL) {
  return ::send(fd, s.data(), s.size(), flags);
}

// The sockaddr_un of `path` and its length.
inline socklen_t unix_address(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), std::min(path.size(), sizeof addr->sun_path - 1));
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
}

// connect(2) of a new socket of `type` to `path`: the connected socket, or -1 with errno.
inline int connect_to(const std::string& path, int type) {
  int s = ::socket(AF_UNIX, type, 0);
  if (s < 0) return -1;
  sockaddr_un addr;
  socklen_t len = unix_address(path, &addr);
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), len) == 0) return s;
  int err = errno;
  ::close(s);
  errno = err;
  return -1;
}

// A socket of `type` bound to "sock" in a fresh private directory, listening if `listening`.
// The directory (and the socket file) go when the scope ends.
struct UnixListener {
  TempDir dir;
  std::string path = dir.file("sock");
  Fd fd;
  bool ok = false;
  explicit UnixListener(int type, bool listening = true) : fd(::socket(AF_UNIX, type, 0)) {
    sockaddr_un addr;
    socklen_t len = unix_address(path, &addr);
    ok = fd.get() >= 0 && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
         (!listening || ::listen(fd.get(), 8) == 0);
  }
};

// sendmsg(2) of `data` with `fds` as one SCM_RIGHTS message; sendmsg's result (-1, errno).
inline ssize_t send_fds(int sock, const std::string& data, const std::vector<int>& fds,
                        int flags = 0) {
  std::string payload = data.empty() ? std::string(1, '\0') : data;
  iovec iov{const_cast<char*>(payload.data()), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  return ::sendmsg(sock, &msg, flags);
}

// What recv_fds got: the data (n bytes, or n = -1 and err), the descriptors it was given (the
// caller owns them), and msg_flags.
struct ReceivedFds {
  ssize_t n = -1;
  int err = 0;
  std::string data;
  std::vector<int> fds;
  int flags = 0;
};

// recvmsg(2) of up to `max` bytes with control room for `room` descriptors (0: no control
// buffer at all).
inline ReceivedFds recv_fds(int sock, size_t max, size_t room, int flags = 0) {
  ReceivedFds r;
  std::vector<char> buf(max);
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(room ? CMSG_SPACE(sizeof(int) * room) : 0);
  msg.msg_control = room ? control.data() : nullptr;
  // Exactly `room` descriptors' worth: CMSG_SPACE's alignment padding would fit more.
  msg.msg_controllen = room ? CMSG_LEN(sizeof(int) * room) : 0;
  r.n = ::recvmsg(sock, &msg, flags);
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  r.data.assign(buf.data(), static_cast<size_t>(r.n));
  r.flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      r.fds.push_back(fd);
    }
  }
  return r;
}

// In a (single-threaded) child: runs `call` with SIGPIPE at its default action but blocked, and
// tells whether SIGPIPE became pending (it is then consumed). `call` returns what it returned
// and leaves errno as it was.
inline bool raised_sigpipe(const std::function<void()>& call) {
  ::signal(SIGPIPE, SIG_DFL);  // ipcbench itself ignores SIGPIPE; an ignored one is discarded
  sigset_t pipe, old;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  ::sigprocmask(SIG_BLOCK, &pipe, &old);
  timespec zero{0, 0};
  while (::sigtimedwait(&pipe, nullptr, &zero) == SIGPIPE) {
  }
  call();
  int err = errno;
  sigset_t pending;
  ::sigpending(&pending);
  bool raised = sigismember(&pending, SIGPIPE) == 1;
  if (raised) ::sigtimedwait(&pipe, nullptr, &zero);
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return raised;
}

}  // namespace ipcb::conform
