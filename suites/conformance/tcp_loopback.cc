// Conformance of TCP over the loopback interface, the reference transport (tcp(7), socket(2),
// send(2), shutdown(2), connect(2)): TCP_NODELAY, refused and in-use ports, EPIPE and SIGPIPE,
// half-close, resets, ordering, non-blocking sockets.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

sockaddr_in loopback(uint16_t port = 0) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A TCP socket bound to 127.0.0.1 on a port the kernel picks, listening if `listening`.
struct TcpServer {
  Fd fd{::socket(AF_INET, SOCK_STREAM, 0)};
  sockaddr_in addr = loopback();
  bool ok = false;
  explicit TcpServer(bool listening = true) {
    socklen_t len = sizeof addr;
    ok = fd.get() >= 0 && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
         ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
         (!listening || ::listen(fd.get(), 8) == 0);
  }
};

// A connection over loopback: client and accepted server ends.
struct TcpPair {
  TcpServer server;
  Fd client{::socket(AF_INET, SOCK_STREAM, 0)};
  Fd accepted;
  bool ok = false;
  TcpPair() {
    if (!server.ok || client.get() < 0) return;
    if (::connect(client.get(), reinterpret_cast<sockaddr*>(&server.addr), sizeof server.addr)) {
      return;
    }
    accepted.reset(::accept(server.fd.get(), nullptr, nullptr));
    ok = accepted.get() >= 0;
  }
};

int nodelay(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 ? v : -1;
}

// tcp(7) TCP_NODELAY: off on a new socket; setsockopt turns it on and off, getsockopt reads it
// back (also on a connected socket).
TEST(TcpLoopback, NodelaySetAndGet) {
  CONFORM_MAN("tcp(7)");
  CONFORM_ROWS("C01");
  TcpPair p;
  ASSERT_TRUE(p.ok) << std::strerror(errno);
  Fd fresh(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_EQ(nodelay(fresh.get()), 0);
  EXPECT_EQ(nodelay(p.client.get()), 0);
  for (int fd : {fresh.get(), p.client.get()}) {
    int on = 1, off = 0;
    ASSERT_EQ(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on), 0);
    EXPECT_NE(nodelay(fd), 0);
    ASSERT_EQ(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &off, sizeof off), 0);
    EXPECT_EQ(nodelay(fd), 0);
  }
}

// connect(2): ECONNREFUSED for a loopback port nobody listens on (the port is held by a bound,
// non-listening socket for the test, so no one else can take it).
TEST(TcpLoopback, ConnectToClosedPortFailsEconnrefused) {
  CONFORM_MAN("connect(2)");
  CONFORM_ROWS("C02");
  TcpServer closed(/*listening=*/false);
  ASSERT_TRUE(closed.ok) << std::strerror(errno);
  Fd c(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_EQ(failed_with(
                ::connect(c.get(), reinterpret_cast<sockaddr*>(&closed.addr), sizeof closed.addr)),
            ECONNREFUSED);
}

// In a child: once the peer closed and its reset arrived, sends fail EPIPE: with MSG_NOSIGNAL
// without SIGPIPE, without the flag raising it. 0 or the failed step.
int send_after_peer_closed() {
  TcpPair p;
  if (!p.ok) return 1;
  p.accepted.reset();
  if (recv_text(p.client.get()) != "<EOF>") return 2;  // the peer's FIN
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  ssize_t rc = 0;
  bool signalled = false;
  while (ms_since(start) < 5000) {  // the first send draws the peer's RST
    signalled |= raised_sigpipe([&] { rc = send_text(p.client.get(), "x", MSG_NOSIGNAL); });
    if (rc < 0) break;
    ::usleep(1000);
  }
  if (rc != -1 || errno != EPIPE) return 3;
  if (signalled) return 4;
  if (!raised_sigpipe([&] { rc = send_text(p.client.get(), "x", 0); })) return 5;
  return rc == -1 && errno == EPIPE ? 0 : 6;
}

// send(2): EPIPE once the peer closed the connection (its RST answered our data); SIGPIPE too
// unless MSG_NOSIGNAL.
TEST(TcpLoopback, SendAfterPeerClosedFailsEpipe) {
  CONFORM_MAN("send(2)");
  CONFORM_ROWS("C03");
  ChildResult r = run_in_child(send_after_peer_closed);
  EXPECT_CHILD_OK(r) << " (3: no EPIPE within 5 s, 4: SIGPIPE despite MSG_NOSIGNAL, "
                        "5: no SIGPIPE, 6: not EPIPE)";
}

// send(2): after shutdown(SHUT_WR) of the sending side, send fails EPIPE at once, raising
// SIGPIPE unless MSG_NOSIGNAL.
TEST(TcpLoopback, SendAfterOwnShutdownFailsEpipe) {
  CONFORM_MAN("send(2)");
  CONFORM_ROWS("C04");
  ChildResult r = run_in_child([] {
    TcpPair p;
    if (!p.ok || ::shutdown(p.client.get(), SHUT_WR) != 0) return 1;
    ssize_t rc = 0;
    if (raised_sigpipe([&] { rc = send_text(p.client.get(), "x", MSG_NOSIGNAL); })) return 2;
    if (rc != -1 || errno != EPIPE) return 3;
    if (!raised_sigpipe([&] { rc = send_text(p.client.get(), "x", 0); })) return 4;
    return rc == -1 && errno == EPIPE ? 0 : 5;
  });
  EXPECT_CHILD_OK(r) << " (2: SIGPIPE despite MSG_NOSIGNAL, 3/5: not EPIPE, 4: no SIGPIPE)";
}

// shutdown(2) SHUT_WR: the peer reads the data sent before it, then EOF; the other direction
// keeps working.
TEST(TcpLoopback, ShutdownWriteGivesPeerEofOtherDirectionWorks) {
  CONFORM_MAN("shutdown(2)");
  CONFORM_ROWS("C05");
  TcpPair p;
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(send_text(p.client.get(), "data"), 4);
  ASSERT_EQ(::shutdown(p.client.get(), SHUT_WR), 0);
  EXPECT_EQ(recv_text(p.accepted.get(), 4, MSG_WAITALL), "data");
  EXPECT_EQ(recv_text(p.accepted.get()), "<EOF>");
  ASSERT_EQ(send_text(p.accepted.get(), "back"), 4);
  EXPECT_EQ(recv_text(p.client.get(), 4, MSG_WAITALL), "back");
}

// tcp(7): a peer that closes with data unread in its receive queue resets the connection: recv
// fails ECONNRESET.
TEST(TcpLoopback, PeerClosedWithUnreadDataGivesEconnreset) {
  CONFORM_MAN("tcp(7)");
  CONFORM_ROWS("C06");
  TcpPair p;
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(send_text(p.client.get(), "unread"), 6);
  ASSERT_NE(poll_one(p.accepted.get(), POLLIN, 5000) & POLLIN, 0) << "the data never arrived";
  p.accepted.reset();
  ASSERT_NE(poll_one(p.client.get(), POLLIN, 5000), 0) << "no reset within 5 s";
  EXPECT_EQ(recv_text(p.client.get()), "<ECONNRESET>");
}

// bind(2): EADDRINUSE for a loopback port a listening socket holds (neither uses SO_REUSEADDR
// or SO_REUSEPORT).
TEST(TcpLoopback, BindToPortInUseFailsEaddrinuse) {
  CONFORM_MAN("bind(2)");
  CONFORM_ROWS("C07");
  TcpServer held;
  ASSERT_TRUE(held.ok);
  Fd other(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_EQ(
      failed_with(::bind(other.get(), reinterpret_cast<sockaddr*>(&held.addr), sizeof held.addr)),
      EADDRINUSE);
}

bool same_address(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

// tcp(7): a byte stream: what several sends carried arrives in order and can be read across
// their boundaries; each end's local address is the other end's peer address, on 127.0.0.1.
TEST(TcpLoopback, BytesInOrderAndAddressesMirror) {
  CONFORM_MAN("tcp(7)");
  CONFORM_ROWS("C08");
  TcpPair p;
  ASSERT_TRUE(p.ok);
  for (const char* s : {"ab", "cd", "ef"}) ASSERT_EQ(send_text(p.client.get(), s), 2);
  EXPECT_EQ(recv_text(p.accepted.get(), 3, MSG_WAITALL), "abc");
  EXPECT_EQ(recv_text(p.accepted.get(), 3, MSG_WAITALL), "def");
  sockaddr_in names[4];
  socklen_t len = sizeof names[0];
  auto sa = [&](int i) { return reinterpret_cast<sockaddr*>(&names[i]); };
  ASSERT_EQ(::getsockname(p.client.get(), sa(0), &len), 0);
  ASSERT_EQ(::getpeername(p.accepted.get(), sa(1), &len), 0);
  ASSERT_EQ(::getsockname(p.accepted.get(), sa(2), &len), 0);
  ASSERT_EQ(::getpeername(p.client.get(), sa(3), &len), 0);
  EXPECT_TRUE(same_address(names[0], names[1])) << "client name = server's peer";
  EXPECT_TRUE(same_address(names[2], names[3])) << "server name = client's peer";
  EXPECT_TRUE(same_address(names[2], p.server.addr));
  EXPECT_EQ(names[0].sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

// socket(2) SOCK_NONBLOCK: recv with nothing queued fails EAGAIN; connect(2) returns 0 or
// EINPROGRESS, and the socket then becomes writable with SO_ERROR 0.
TEST(TcpLoopback, NonblockingRecvAndConnect) {
  CONFORM_MAN("connect(2)");
  CONFORM_ROWS("C09");
  TcpServer server;
  ASSERT_TRUE(server.ok);
  Fd c(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  ASSERT_GE(c.get(), 0);
  int rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&server.addr), sizeof server.addr);
  EXPECT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
  EXPECT_NE(poll_one(c.get(), POLLOUT, 5000) & POLLOUT, 0) << "never connected";
  int err = -1;
  socklen_t len = sizeof err;
  ASSERT_EQ(::getsockopt(c.get(), SOL_SOCKET, SO_ERROR, &err, &len), 0);
  EXPECT_EQ(err, 0);
  Fd accepted(::accept(server.fd.get(), nullptr, nullptr));
  EXPECT_GE(accepted.get(), 0);
  EXPECT_EQ(recv_text(c.get()), "<EAGAIN>");
}

}  // namespace
}  // namespace ipcb::conform
