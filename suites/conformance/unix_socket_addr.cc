// Conformance of Unix stream and sequenced-packet sockets as objects (unix(7), socket(2),
// socketpair(2), connect(2)): creation flags, send buffer limits, addresses (pathname errors,
// permission on the socket file, the abstract namespace).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

// socket(2), socketpair(2): SOCK_CLOEXEC sets FD_CLOEXEC (clear without it); SOCK_NONBLOCK sets
// O_NONBLOCK on both ends of a pair, so a recv with nothing queued fails EAGAIN.
void expect_creation_flags(int type) {
  Fd plain(::socket(AF_UNIX, type, 0)), cloexec(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  ASSERT_GE(plain.get(), 0);
  ASSERT_GE(cloexec.get(), 0);
  EXPECT_EQ(::fcntl(plain.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(::fcntl(cloexec.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(plain.get(), F_GETFL) & O_NONBLOCK, 0);
  SocketPair pair(type, SOCK_NONBLOCK | SOCK_CLOEXEC);
  ASSERT_TRUE(pair.ok);
  for (int fd : {pair.a.get(), pair.b.get()}) {
    EXPECT_NE(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    char c;
    EXPECT_EQ(failed_with(::recv(fd, &c, 1, 0)), EAGAIN);
  }
}

TEST(UnixStream, CloexecAndNonblockFlags) {
  CONFORM_MAN("socket(2)");
  CONFORM_ROWS("K12");
  expect_creation_flags(SOCK_STREAM);
}

TEST(UnixSeqpacket, CloexecAndNonblockFlags) {
  CONFORM_MAN("socket(2)");
  CONFORM_ROWS("K13");
  expect_creation_flags(SOCK_SEQPACKET);
}

// Sets SO_SNDBUF to `bytes`; returns what getsockopt reads back (socket(7): the kernel doubles
// the value).
int set_sndbuf(int fd, int bytes) {
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  int v = 0;
  socklen_t len = sizeof v;
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len);
  return v;
}

// Reads everything queued on the non-blocking `fd`; the bytes read.
long drain(int fd) {
  std::vector<char> buf(65536);
  long total = 0;
  for (ssize_t n; (n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT)) > 0;) total += n;
  return total;
}

// unix(7), send(2): a stream socket whose (small) send buffer is full, the peer reading nothing,
// accepts what fits and then fails EAGAIN without blocking; once the peer reads, it sends again.
TEST(UnixStream, FullSendBufferFailsEagain) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K14");
  SocketPair sp(SOCK_STREAM);
  ASSERT_TRUE(sp.ok);
  EXPECT_EQ(set_sndbuf(sp.a.get(), 4096), 8192) << "socket(7): the value is doubled";
  std::vector<char> chunk(1000, 'x');
  long sent = 0;
  ssize_t n;
  while ((n = ::send(sp.a.get(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL)) > 0) {
    sent += n;
    ASSERT_LT(sent, 10L << 20) << "the send buffer never filled";
  }
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_GT(sent, 0);
  EXPECT_LE(sent, 8192);
  EXPECT_EQ(drain(sp.b.get()), sent);
  EXPECT_EQ(::send(sp.a.get(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL), 1000)
      << "sending works again once the peer read";
}

// unix(7): on a sequenced-packet socket SO_SNDBUF (doubled) less 32 bytes is the largest
// message: one byte more fails EMSGSIZE; when the buffer is full a non-blocking send fails
// EAGAIN, and works again once the peer read.
TEST(UnixSeqpacket, MessageSizeAndFullBufferLimits) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K15");
  SocketPair sp(SOCK_SEQPACKET);
  ASSERT_TRUE(sp.ok);
  int sndbuf = set_sndbuf(sp.a.get(), 4096);
  EXPECT_EQ(sndbuf, 8192) << "socket(7): the value is doubled";
  std::vector<char> big(static_cast<size_t>(sndbuf), 'x');
  int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
  EXPECT_EQ(failed_with(::send(sp.a.get(), big.data(), sndbuf - 31, flags)), EMSGSIZE);
  EXPECT_EQ(::send(sp.a.get(), big.data(), sndbuf - 32, flags), sndbuf - 32);
  EXPECT_EQ(failed_with(::send(sp.a.get(), big.data(), 100, flags)), EAGAIN) << "buffer full";
  EXPECT_EQ(drain(sp.b.get()), sndbuf - 32);
  EXPECT_EQ(::send(sp.a.get(), big.data(), 100, flags), 100);
}

// bind(2) of a new socket of `type` to `path`: 0 or the errno.
int bind_errno(int type, const std::string& path) {
  Fd s(::socket(AF_UNIX, type, 0));
  sockaddr_un addr;
  socklen_t len = unix_address(path, &addr);
  return failed_with(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len));
}

// unix(7): connect to a path that does not exist fails ENOENT; to a socket nobody listens on,
// or to a regular file, ECONNREFUSED; bind to a path that exists (socket or file) EADDRINUSE.
void expect_address_errors(int type) {
  UnixListener bound(type, /*listening=*/false);
  ASSERT_TRUE(bound.ok) << std::strerror(errno);
  std::string file = bound.dir.file("file");
  Fd f(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  ASSERT_GE(f.get(), 0);
  EXPECT_EQ(connect_to(bound.dir.file("missing"), type), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(connect_to(bound.path, type), -1);
  EXPECT_EQ(errno, ECONNREFUSED) << "a socket that is not listening";
  EXPECT_EQ(connect_to(file, type), -1);
  EXPECT_EQ(errno, ECONNREFUSED) << "a regular file";
  EXPECT_EQ(bind_errno(type, bound.path), EADDRINUSE);
  EXPECT_EQ(bind_errno(type, file), EADDRINUSE);
  ASSERT_EQ(::listen(bound.fd.get(), 1), 0);
  Fd c(connect_to(bound.path, type));
  EXPECT_GE(c.get(), 0) << "listening now: " << std::strerror(errno);
}

TEST(UnixStream, ConnectAndBindAddressErrors) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K20");
  expect_address_errors(SOCK_STREAM);
}

TEST(UnixSeqpacket, ConnectAndBindAddressErrors) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K21");
  expect_address_errors(SOCK_SEQPACKET);
}

// unix(7): connecting to a pathname socket needs write permission on the socket file: EACCES
// without it; the same caller connects once it is granted. The caller lacks root's privileges
// (as root: nobody, another user; otherwise the owner, denied by its own mode bits).
void expect_write_permission_needed(int type) {
  UnixListener l(type);
  ASSERT_TRUE(l.ok) << std::strerror(errno);
  ASSERT_EQ(::chmod(l.dir.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(l.path.c_str(), 0555), 0);
  std::string path = l.path;
  ChildResult denied = unprivileged(
      [path, type] { return connect_to(path, type) == -1 && errno == EACCES ? 0 : 1; });
  EXPECT_CHILD_OK(denied) << " (1: connected without write permission)";
  ASSERT_EQ(::chmod(l.path.c_str(), 0777), 0);
  ChildResult allowed = unprivileged([path, type] { return connect_to(path, type) >= 0 ? 0 : 1; });
  EXPECT_CHILD_OK(allowed) << " (1: refused with write permission: positive control)";
}

TEST(UnixStream, ConnectNeedsWritePermissionEacces) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K22");
  expect_write_permission_needed(SOCK_STREAM);
}

TEST(UnixSeqpacket, ConnectNeedsWritePermissionEacces) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K23");
  expect_write_permission_needed(SOCK_SEQPACKET);
}

// An abstract address: a null byte, then `name` (no terminating null counted).
socklen_t abstract_address(const std::string& name, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// unix(7) abstract namespace: a socket bound to a name starting with a null byte reports the
// same length and bytes from getsockname; a connect to that name reaches it; binding another
// socket to it fails EADDRINUSE until the first one is closed.
void expect_abstract_name(int type) {
  std::string name = unique_name().substr(1);  // "ipcb-conf-<hex>"
  sockaddr_un addr;
  socklen_t len = abstract_address(name, &addr);
  Fd first(::socket(AF_UNIX, type, 0));
  ASSERT_EQ(::bind(first.get(), reinterpret_cast<sockaddr*>(&addr), len), 0)
      << std::strerror(errno);
  ASSERT_EQ(::listen(first.get(), 1), 0);
  sockaddr_un got{};
  socklen_t got_len = sizeof got;
  ASSERT_EQ(::getsockname(first.get(), reinterpret_cast<sockaddr*>(&got), &got_len), 0);
  EXPECT_EQ(got_len, len);
  EXPECT_EQ(std::memcmp(&got, &addr, len), 0);
  Fd client(::socket(AF_UNIX, type, 0));
  EXPECT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), len), 0)
      << std::strerror(errno);
  Fd second(::socket(AF_UNIX, type, 0));
  EXPECT_EQ(failed_with(::bind(second.get(), reinterpret_cast<sockaddr*>(&addr), len)), EADDRINUSE);
  first.reset();
  Fd third(::socket(AF_UNIX, type, 0));
  EXPECT_EQ(::bind(third.get(), reinterpret_cast<sockaddr*>(&addr), len), 0)
      << "the name is free once its socket is closed: " << std::strerror(errno);
}

TEST(UnixStream, AbstractNameLivesWithItsSocket) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K25");
  expect_abstract_name(SOCK_STREAM);
}

TEST(UnixSeqpacket, AbstractNameLivesWithItsSocket) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K26");
  expect_abstract_name(SOCK_SEQPACKET);
}

}  // namespace
}  // namespace ipcb::conform
