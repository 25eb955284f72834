// Conformance of credentials on Unix stream and sequenced-packet sockets (unix(7)):
// SO_PEERCRED gives the peer's pid, uid and gid as at socketpair/connect/listen time, and
// SCM_CREDENTIALS carries the sender's (checked by the kernel: EPERM for another pid, ESRCH for
// a pid nobody has). Pids are compared exactly: the child's own, not "not ours".
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

bool same(const ucred& a, const ucred& b) {
  return a.pid == b.pid && a.uid == b.uid && a.gid == b.gid;
}
std::string text(const ucred& c) {
  return "pid " + std::to_string(c.pid) + " uid " + std::to_string(c.uid) + " gid " +
         std::to_string(c.gid);
}
ucred peer_of(int sock) {
  ucred c{-1, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  socklen_t len = sizeof c;
  ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &c, &len);
  return c;
}
ucred mine() {
  return ucred{::getpid(), ::geteuid(), ::getegid()};
}

// What the connecting child saw and was.
struct Seen {
  ucred child, its_peer;
};

// unix(7) SO_PEERCRED: for a socketpair, each end's peer is the process that made the pair;
// for a connection, the server's accepted socket names the client (here another process, and
// as root another user: nobody) as at connect, and the client's names the listener as at listen.
void expect_peer_credentials(int type) {
  SocketPair sp(type);
  ASSERT_TRUE(sp.ok);
  EXPECT_TRUE(same(peer_of(sp.a.get()), mine())) << text(peer_of(sp.a.get()));
  EXPECT_TRUE(same(peer_of(sp.b.get()), mine())) << text(peer_of(sp.b.get()));
  UnixListener l(type);
  ASSERT_TRUE(l.ok) << std::strerror(errno);
  ASSERT_EQ(::chmod(l.dir.path().c_str(), 0711), 0);  // another user may reach the socket
  ASSERT_EQ(::chmod(l.path.c_str(), 0777), 0);
  SharedMemory<Seen> seen;
  ASSERT_TRUE(seen.ok());
  Seen* s = seen.get();
  std::string path = l.path;
  ChildResult r = unprivileged([s, path, type] {
    int c = connect_to(path, type);
    if (c < 0) return 1;
    s->child = mine();
    s->its_peer = peer_of(c);
    return 0;  // exits: the accepted socket keeps the credentials of connect time
  });
  ASSERT_EQ(r.describe(), exited_with(0)) << "(1: connect failed)";
  Fd accepted(::accept(l.fd.get(), nullptr, nullptr));
  ASSERT_GE(accepted.get(), 0) << std::strerror(errno);
  uid_t want_uid = is_root() ? 65534 : ::geteuid();
  EXPECT_EQ(s->child.uid, want_uid);
  EXPECT_NE(s->child.pid, ::getpid());
  EXPECT_TRUE(same(peer_of(accepted.get()), s->child))
      << "SO_PEERCRED " << text(peer_of(accepted.get())) << ", the child " << text(s->child);
  EXPECT_TRUE(same(s->its_peer, mine())) << "the client saw " << text(s->its_peer);
}

TEST(UnixStream, PeerCredentialsExact) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K16");
  expect_peer_credentials(SOCK_STREAM);
}

TEST(UnixSeqpacket, PeerCredentialsExact) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K17");
  expect_peer_credentials(SOCK_SEQPACKET);
}

// One byte and room for one SCM_CREDENTIALS control message, as a msghdr for sendmsg/recvmsg.
struct CredMessage {
  char byte = 'c';
  iovec iov{&byte, 1};
  char control[CMSG_SPACE(sizeof(ucred))] = {};
  msghdr msg{};
  CredMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  CredMessage(const CredMessage&) = delete;
  CredMessage& operator=(const CredMessage&) = delete;
};

// sendmsg(2) of one byte with SCM_CREDENTIALS `c`; -1 and errno on failure.
ssize_t send_creds(int sock, const ucred& c) {
  CredMessage m;
  cmsghdr* h = CMSG_FIRSTHDR(&m.msg);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_CREDENTIALS;
  h->cmsg_len = CMSG_LEN(sizeof(ucred));
  std::memcpy(CMSG_DATA(h), &c, sizeof c);
  return ::sendmsg(sock, &m.msg, MSG_NOSIGNAL);
}

// recvmsg(2) of one byte; the SCM_CREDENTIALS that came with it (pid -1 if none).
ucred recv_creds(int sock) {
  CredMessage m;
  ucred c{-1, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
  if (::recvmsg(sock, &m.msg, 0) != 1) return c;
  for (cmsghdr* h = CMSG_FIRSTHDR(&m.msg); h != nullptr; h = CMSG_NXTHDR(&m.msg, h)) {
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS) {
      std::memcpy(&c, CMSG_DATA(h), sizeof c);
    }
  }
  return c;
}

// In a fresh user and pid namespace (as its PID 1, with CAP_SYS_ADMIN over that pid namespace):
// credentials naming a pid nobody has fail ESRCH. Exit 0, or a code; kSkipCode without user
// namespaces.
int nonexistent_pid_in_own_namespace(int type) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  if (::unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) return kSkipCode;
  auto write_file = [](const char* path, const std::string& s) {
    Fd f(::open(path, O_WRONLY));
    return f.get() >= 0 && ::write(f.get(), s.data(), s.size()) == static_cast<ssize_t>(s.size());
  };
  if (!write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n")) return 40;
  if (!write_file("/proc/self/setgroups", "deny")) return 41;
  if (!write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) return 42;
  pid_t init = ::fork();  // PID 1 of the new namespace: the only process in it
  if (init == 0) {
    SocketPair sp(type);
    int on = 1;
    if (!sp.ok || ::setsockopt(sp.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
      ::_exit(43);
    }
    ssize_t rc = send_creds(sp.a.get(), ucred{2, 0, 0});
    ::_exit(rc == -1 && errno == ESRCH ? 0 : 44);
  }
  int status = 0;
  if (init < 0 || ::waitpid(init, &status, 0) != init) return 45;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 46;
}

// unix(7) SCM_CREDENTIALS: with SO_PASSCRED the receiver gets the sender's pid, real uid and
// real gid when it sends none, and what it sent when it sends its own; an unprivileged sender
// naming another process's pid fails EPERM; a sender with CAP_SYS_ADMIN over its pid namespace
// naming a pid nobody has fails ESRCH.
void expect_passed_credentials(int type) {
  SocketPair sp(type);
  ASSERT_TRUE(sp.ok);
  int on = 1;
  ASSERT_EQ(::setsockopt(sp.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  SharedMemory<ucred> child;
  ASSERT_TRUE(child.ok());
  ucred* c = child.get();
  int a = sp.a.get();
  pid_t parent = ::getpid();
  ChildResult r = unprivileged([a, c, parent] {
    *c = ucred{::getpid(), ::getuid(), ::getgid()};
    char byte = 'n';
    if (::send(a, &byte, 1, MSG_NOSIGNAL) != 1) return 1;
    if (send_creds(a, *c) != 1) return 2;
    if (send_creds(a, ucred{parent, c->uid, c->gid}) != -1 || errno != EPERM) return 3;
    return 0;
  });
  EXPECT_EQ(r.describe(), exited_with(0)) << "(2: own credentials refused, 3: no EPERM)";
  ucred none = recv_creds(sp.b.get()), own = recv_creds(sp.b.get());
  EXPECT_NE(c->pid, parent);
  EXPECT_EQ(c->uid, is_root() ? 65534u : ::getuid());
  EXPECT_TRUE(same(none, *c)) << "without SCM_CREDENTIALS: " << text(none) << ", sender "
                              << text(*c);
  EXPECT_TRUE(same(own, *c)) << "with its own: " << text(own);
  if (is_root()) {  // CAP_SYS_ADMIN here: a pid nobody has
    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ASSERT_GT(gone, 0);
    ::waitpid(gone, nullptr, 0);
    EXPECT_EQ(failed_with(send_creds(sp.a.get(), ucred{gone, 0, 0})), ESRCH);
    return;
  }
  ChildResult ns = run_in_child([type] { return nonexistent_pid_in_own_namespace(type); });
  SKIP_IF_CHILD_SKIPPED(ns,
                        "ESRCH needs CAP_SYS_ADMIN over a pid namespace: no user "
                        "namespace could be made (run as root)");
  EXPECT_CHILD_OK(ns) << " (44: no ESRCH in its own pid namespace)";
}

TEST(UnixStream, PassedCredentialsCheckedAndExact) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K18");
  expect_passed_credentials(SOCK_STREAM);
}

TEST(UnixSeqpacket, PassedCredentialsCheckedAndExact) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K19");
  expect_passed_credentials(SOCK_SEQPACKET);
}

}  // namespace
}  // namespace ipcb::conform
