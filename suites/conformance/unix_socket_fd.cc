// Conformance of descriptor passing over Unix stream and sequenced-packet sockets (unix(7)
// SCM_RIGHTS, cmsg(3)): the receiver gets new descriptors for the same open file descriptions;
// a control buffer too small truncates and closes the excess; SCM_MAX_FD; descriptors not open.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/unix_socket.h"

namespace ipcb::conform {
namespace {

constexpr int kScmMaxFd = 253;  // SCM_MAX_FD, unix(7)

// In a child started before the file existed: receives one descriptor, reads 3 bytes through
// it and sets O_NONBLOCK on it. 0, or the failed step.
int receive_and_use(int sock) {
  ReceivedFds got = recv_fds(sock, 16, 2);
  if (got.n != 1 || got.fds.size() != 1) return 1;
  char buf[3];
  if (::read(got.fds[0], buf, 3) != 3 || std::memcmp(buf, "012", 3) != 0) return 2;
  int fl = ::fcntl(got.fds[0], F_GETFL);
  return ::fcntl(got.fds[0], F_SETFL, fl | O_NONBLOCK) == 0 ? 0 : 3;
}

// unix(7) SCM_RIGHTS: a descriptor passed to another process arrives as a new descriptor for
// the same open file description: the receiver's read moves the sender's offset, and a status
// flag it sets is the sender's too. (The receiver was forked before the file was opened, so it
// can only have the passed descriptor.)
void expect_descriptor_passed(int type) {
  SocketPair sp(type);
  ASSERT_TRUE(sp.ok);
  int theirs = sp.b.get();
  auto child = in_child_async([theirs] { return receive_and_use(theirs); });
  TempDir dir;
  Fd file(::open(dir.file("f").c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
  ASSERT_GE(file.get(), 0);
  ASSERT_EQ(::write(file.get(), "0123456789", 10), 10);
  ASSERT_EQ(::lseek(file.get(), 0, SEEK_SET), 0);
  ASSERT_EQ(send_fds(sp.a.get(), "x", {file.get()}), 1) << std::strerror(errno);
  ChildResult r = child.get();
  EXPECT_CHILD_OK(r) << " (1: no descriptor, 2: wrong data, 3: fcntl failed)";
  char buf[3];
  ASSERT_EQ(::read(file.get(), buf, 3), 3);
  EXPECT_EQ(std::string(buf, 3), "345") << "the offset is shared";
  EXPECT_NE(::fcntl(file.get(), F_GETFL) & O_NONBLOCK, 0) << "the status flags are shared";
}

TEST(UnixStream, PassedDescriptorSharesOpenFileDescription) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K04");
  expect_descriptor_passed(SOCK_STREAM);
}

TEST(UnixSeqpacket, PassedDescriptorSharesOpenFileDescription) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K05");
  expect_descriptor_passed(SOCK_SEQPACKET);
}

// How many descriptors this process has open (/proc/self/fd, less the directory's own).
int open_descriptors() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;
}

void close_all(const std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
}

// unix(7) SCM_RIGHTS: a control buffer too small for the descriptors sent keeps those that fit,
// sets MSG_CTRUNC and closes the others (none of them is left open); without a control buffer
// all are discarded (MSG_CTRUNC). More than SCM_MAX_FD (253) descriptors: EINVAL (253 pass).
// A descriptor that is not open: EBADF.
void expect_control_limits(int type) {
  SocketPair sp(type);
  ASSERT_TRUE(sp.ok);
  PipeFds p;
  ASSERT_TRUE(p.ok);
  int r = p.r.get();
  int before = open_descriptors();
  ASSERT_EQ(send_fds(sp.a.get(), "a", {r, r, r}), 1);
  ReceivedFds one = recv_fds(sp.b.get(), 16, 1);
  EXPECT_EQ(one.n, 1);
  EXPECT_NE(one.flags & MSG_CTRUNC, 0) << "room for one of three";
  EXPECT_EQ(one.fds.size(), 1u);
  EXPECT_EQ(open_descriptors(), before + static_cast<int>(one.fds.size()))
      << "the two that did not fit must be closed";
  close_all(one.fds);
  ASSERT_EQ(send_fds(sp.a.get(), "b", {r, r}), 1);
  ReceivedFds none = recv_fds(sp.b.get(), 16, 0);
  EXPECT_EQ(none.n, 1);
  EXPECT_NE(none.flags & MSG_CTRUNC, 0) << "no control buffer";
  EXPECT_TRUE(none.fds.empty());
  EXPECT_EQ(open_descriptors(), before);
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur >= static_cast<rlim_t>(before + kScmMaxFd + 16)) {
    std::vector<int> many(kScmMaxFd + 1, r);
    EXPECT_EQ(failed_with(send_fds(sp.a.get(), "c", many)), EINVAL) << "254 descriptors";
    many.pop_back();
    ASSERT_EQ(send_fds(sp.a.get(), "d", many), 1) << "253 descriptors";
    ReceivedFds all = recv_fds(sp.b.get(), 16, kScmMaxFd);
    EXPECT_EQ(all.fds.size(), static_cast<size_t>(kScmMaxFd));
    close_all(all.fds);
  } else {
    ADD_FAILURE() << "RLIMIT_NOFILE " << nofile.rlim_cur << " is too low to pass 253 descriptors";
  }
  int closed = ::dup(r);
  ASSERT_GE(closed, 0);
  ::close(closed);
  EXPECT_EQ(failed_with(send_fds(sp.a.get(), "e", {closed})), EBADF);
}

TEST(UnixStream, ControlTruncationAndDescriptorLimits) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K06");
  expect_control_limits(SOCK_STREAM);
}

TEST(UnixSeqpacket, ControlTruncationAndDescriptorLimits) {
  CONFORM_MAN("unix(7)");
  CONFORM_ROWS("K07");
  expect_control_limits(SOCK_SEQPACKET);
}

}  // namespace
}  // namespace ipcb::conform
