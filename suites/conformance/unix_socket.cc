// Conformance of Unix domain stream and sequenced-packet sockets (unix(7), socketpair(2),
// send(2), recv(2)): message boundaries, truncation, and what the survivor sees when the peer
// closes or dies: EOF, EPIPE with or without SIGPIPE, ECONNRESET. Suites UnixStream and
// UnixSeqpacket (mechanisms unix_stream, unix_seqpacket).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <initializer_list>
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

// Expects recv_text(fd, max) to give `texts`, one call each, in order.
void expect_recvs(int fd, size_t max, std::initializer_list<std::string> texts) {
  for (const std::string& t : texts) EXPECT_EQ(recv_text(fd, max), t);
}

// What the receiver of a pair of `type` sees after "one" and "second" were sent: `then` sends and
// receives on.
struct BoundaryCase {
  CaseInfo info;
  int type;
  void (*then)(const SocketPair& sp);
};
void sent_one_and_second(const BoundaryCase& c) {
  SocketPair sp(c.type);
  ASSERT_TRUE(sp.ok) << std::strerror(errno);
  ASSERT_EQ(send_text(sp.a.get(), "one"), 3);
  ASSERT_EQ(send_text(sp.a.get(), "second"), 6);
  c.then(sp);
}

// unix(7): a SOCK_SEQPACKET socket preserves message boundaries: each recv returns one whole
// message, in the order sent, however large the buffer.
void boundaries_kept(const SocketPair& sp) {
  ASSERT_EQ(send_text(sp.a.get(), "3"), 1);
  expect_recvs(sp.b.get(), 256, {"one", "second", "3"});
}

// unix(7): a SOCK_STREAM socket is a byte stream: two sends can come out of one recv, and one
// send can be read in parts, in order.
void no_boundaries(const SocketPair& sp) {
  EXPECT_EQ(recv_text(sp.b.get(), 256), "onesecond");
  ASSERT_EQ(send_text(sp.a.get(), "abcdef"), 6);
  expect_recvs(sp.b.get(), 2, {"ab", "cd", "ef"});
}

const BoundaryCase kBoundaries[] = {
    {{"MessageBoundariesKept", "unix(7)", "K01", "UnixSeqpacket"}, SOCK_SEQPACKET, boundaries_kept},
    {{"NoMessageBoundaries", "unix(7)", "K02", "UnixStream"}, SOCK_STREAM, no_boundaries},
};
CONFORM_CASES(nullptr, kBoundaries, sent_one_and_second);

// recv(2): on a SOCK_SEQPACKET socket a buffer shorter than the message gets its start; the
// rest is discarded and recvmsg sets MSG_TRUNC in msg_flags. With the MSG_TRUNC flag (Linux
// 3.4) recv returns the message's real length.
TEST(UnixSeqpacket, ShortBufferTruncatesWithMsgTrunc) {
  CONFORM_MAN("recv(2)");
  CONFORM_ROWS("K03");
  SocketPair sp(SOCK_SEQPACKET);
  ASSERT_TRUE(sp.ok);
  ASSERT_EQ(send_text(sp.a.get(), "0123456789"), 10);
  ASSERT_EQ(send_text(sp.a.get(), "next"), 4);
  ReceivedFds r = recv_fds(sp.b.get(), 4, 0);
  EXPECT_EQ(r.n, 4);
  EXPECT_EQ(r.data, "0123");
  EXPECT_NE(r.flags & MSG_TRUNC, 0) << "msg_flags";
  EXPECT_EQ(recv_text(sp.b.get(), 64), "next") << "the rest was discarded";
  ASSERT_EQ(send_text(sp.a.get(), "0123456789"), 10);
  char buf[4];
  EXPECT_EQ(::recv(sp.b.get(), buf, sizeof buf, MSG_TRUNC), 10);
  ASSERT_EQ(send_text(sp.a.get(), "whole"), 5);
  r = recv_fds(sp.b.get(), 64, 0);
  EXPECT_EQ(r.data, "whole");
  EXPECT_EQ(r.flags & MSG_TRUNC, 0) << "a message that fits";
}

// In a child: the peer sent "bye" and closed its end (it had read everything): recv gets "bye",
// then EOF; a send fails EPIPE, with MSG_NOSIGNAL without SIGPIPE, and without the flag raising
// SIGPIPE if `sigpipe`. 0 or the failed step.
int closed_peer_steps(int type, bool sigpipe) {
  SocketPair sp(type);
  if (!sp.ok) return 1;
  if (send_text(sp.b.get(), "bye") != 3) return 2;
  sp.b.reset();
  if (recv_text(sp.a.get()) != "bye") return 3;
  if (recv_text(sp.a.get()) != "<EOF>") return 4;
  if (recv_text(sp.a.get()) != "<EOF>") return 5;
  ssize_t rc = 0;
  if (raised_sigpipe([&] { rc = send_text(sp.a.get(), "x", 0); }) != sigpipe) return 6;
  if (rc != -1 || errno != EPIPE) return 7;
  if (raised_sigpipe([&] { rc = send_text(sp.a.get(), "x", MSG_NOSIGNAL); })) return 8;
  return rc == -1 && errno == EPIPE ? 0 : 9;
}

constexpr const char* kClosedPeerSteps =
    " (3: data lost, 4/5: no EOF, 6: SIGPIPE not as expected, 7: not EPIPE, 8: SIGPIPE despite "
    "MSG_NOSIGNAL, 9: not EPIPE with MSG_NOSIGNAL)";

// A peer that closed its end: the socket type, and whether a send without MSG_NOSIGNAL raises
// SIGPIPE.
struct ClosedPeerCase {
  CaseInfo info;
  int type;
  bool sigpipe;
};

void closed_peer_gives_eof_then_epipe(const ClosedPeerCase& c) {
  ChildResult r = run_in_child([&c] { return closed_peer_steps(c.type, c.sigpipe); });
  EXPECT_CHILD_OK(r) << kClosedPeerSteps;
}

// unix(7), send(2): after the peer closed, recv returns the data (on a sequenced-packet socket:
// the messages) queued and then 0 (EOF); send fails EPIPE and on a stream socket raises SIGPIPE
// unless MSG_NOSIGNAL is given. Linux raises no SIGPIPE on a sequenced-packet socket (unix(7)
// names SIGPIPE for stream sockets only; send(2) promises it for every connection-oriented
// socket).
const ClosedPeerCase kClosedPeer[] = {
    {{"PeerClosedGivesEofThenEpipe", "unix(7)", "K08", "UnixStream"}, SOCK_STREAM, true},
    {{"PeerClosedGivesEofThenEpipe", "unix(7)", "K09", "UnixSeqpacket"}, SOCK_SEQPACKET, false},
};
CONFORM_CASES(nullptr, kClosedPeer, closed_peer_gives_eof_then_epipe);

// A child holds end b of a `type` pair: it sends "for-you" and waits to be killed, leaving
// "unread" (sent by us) unread. Returns our end, once the child died; ok false on a failure.
struct DeadPeer {
  SocketPair sp;
  bool ok = false;
  explicit DeadPeer(int type) : sp(type) {
    SharedMemory<pid_t> pid;
    if (!sp.ok || !pid.ok() || send_text(sp.a.get(), "unread") != 6) return;
    int b = sp.b.get(), a = sp.a.get();
    pid_t* slot = pid.get();
    auto child = in_child_async([a, b, slot] {
      ::close(a);
      __atomic_store_n(slot, ::getpid(), __ATOMIC_SEQ_CST);
      if (send_text(b, "for-you") != 7) return 1;
      ::pause();
      return 2;
    });
    sp.b.reset();  // the child holds the only copy of b now
    bool arrived = poll_one(a, POLLIN, 5000) & POLLIN;
    pid_t p = __atomic_load_n(slot, __ATOMIC_SEQ_CST);
    if (p > 0) ::kill(p, SIGKILL);
    ChildResult r = child.get();
    ok = arrived && r.signal == SIGKILL;
  }
};

// A peer that died with our data unread: the socket type, and what our first two recvs give.
struct DeadPeerCase {
  CaseInfo info;
  int type;
  const char* first;
  const char* second;
};

void dead_peer_gives_econnreset(const DeadPeerCase& c) {
  DeadPeer d(c.type);
  ASSERT_TRUE(d.ok) << "the peer did not send and die as planned";
  expect_recvs(d.sp.a.get(), 64, {c.first, c.second, "<EOF>"});
  EXPECT_EQ(failed_with(send_text(d.sp.a.get(), "x")), EPIPE);
}

// unix(7): ECONNRESET when the peer went away unexpectedly: on a stream socket whose peer
// process died with our data unread, recv returns the data that reached us, then fails
// ECONNRESET once, then returns 0; send fails EPIPE. On a sequenced-packet socket the
// ECONNRESET comes first (Linux reports the pending error before queued messages), then the
// messages that reached us, then 0; send fails EPIPE.
const DeadPeerCase kDeadPeer[] = {
    {{"PeerDiedWithUnreadDataGivesEconnreset", "unix(7)", "K10", "UnixStream"},
     SOCK_STREAM,
     "for-you",
     "<ECONNRESET>"},
    {{"PeerDiedWithUnreadDataGivesEconnreset", "unix(7)", "K11", "UnixSeqpacket"},
     SOCK_SEQPACKET,
     "<ECONNRESET>",
     "for-you"},
};
CONFORM_CASES(nullptr, kDeadPeer, dead_peer_gives_econnreset);

// unix(7): out-of-band data (MSG_OOB) is not supported on a sequenced-packet socket:
// EOPNOTSUPP. (Stream sockets accept it since Linux 5.15, CONFIG_AF_UNIX_OOB, although unix(7)
// says otherwise.)
TEST(UnixSeqpacket, OutOfBandFailsEopnotsupp) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K24");
  SocketPair sp(SOCK_SEQPACKET);
  ASSERT_TRUE(sp.ok);
  EXPECT_EQ(failed_with(send_text(sp.a.get(), "x", MSG_OOB | MSG_NOSIGNAL)), EOPNOTSUPP);
  EXPECT_EQ(poll_one(sp.b.get(), POLLIN), 0) << "nothing was sent";
}

}  // namespace
}  // namespace ipcb::conform
