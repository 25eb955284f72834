// Conformance of POSIX message queues (mq_overview(7), mq_open(3), mq_send(3), mq_receive(3),
// mq_notify(3), mq_getattr(3)): names, attributes, limits, blocking, ordering and lifetime.
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

constexpr int kSkipCode = 77;        // a child's way of saying "cannot be checked here"
constexpr int kCapSysResource = 24;  // CAP_SYS_RESOURCE
constexpr int kShortMs = 30;         // how long the timeout tests wait

// An open queue that the test created; closed and unlinked on every path.
struct Queue {
  std::string name = unique_name();
  mqd_t q = static_cast<mqd_t>(-1);
  Cleanup guard{[this] {
    if (q != static_cast<mqd_t>(-1)) ::mq_close(q);
    ::mq_unlink(name.c_str());
  }};
  bool ok() const { return q != static_cast<mqd_t>(-1); }
};

mqd_t open_queue(const std::string& name, int oflag, long maxmsg, long msgsize,
                 mode_t mode = 0600) {
  mq_attr a{};
  a.mq_maxmsg = maxmsg;
  a.mq_msgsize = msgsize;
  return ::mq_open(name.c_str(), oflag, mode, &a);
}

// Creates a fresh queue read-write with the given attributes (and extra flags).
void create(Queue& q, long maxmsg = 4, long msgsize = 64, int extra = 0) {
  q.q = open_queue(q.name, O_RDWR | O_CREAT | O_EXCL | extra, maxmsg, msgsize);
}

// errno of a failed mq_open of `name`, or 0 if it succeeded (the queue is then removed).
int open_errno(const std::string& name, int oflag, long maxmsg = 4, long msgsize = 64) {
  mqd_t q = open_queue(name, oflag, maxmsg, msgsize);
  if (q == static_cast<mqd_t>(-1)) return errno;
  ::mq_close(q);
  if (oflag & O_CREAT) ::mq_unlink(name.c_str());
  return 0;
}

timespec realtime_in(int ms) {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  long long ns = static_cast<long long>(ts.tv_sec) * 1000000000 + ts.tv_nsec +
                 static_cast<long long>(ms) * 1000000;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int child_fail(int code, const char* what) {
  std::fprintf(stderr, "child: %s: %s\n", what, std::strerror(errno));
  return code;
}

long current_curmsgs(mqd_t q) {
  mq_attr a{};
  return ::mq_getattr(q, &a) == 0 ? a.mq_curmsgs : -1;
}

// Runs `check(limit)` in a child that lacks CAP_SYS_RESOURCE, with fs.mqueue.<sysctl> at a known
// value: as root, `want` is set in a private IPC namespace (nothing outside changes) and the child
// drops to nobody; otherwise the current value is used if it is at most `max_current`.
ChildResult with_unprivileged_limit(const std::string& sysctl, long long want,
                                    long long max_current,
                                    const std::function<int(long long)>& check) {
  return run_in_child([&] {
    if (is_root()) {
      if (::unshare(CLONE_NEWIPC) != 0) return kSkipCode;
      SysctlGuard g("fs.mqueue." + sysctl, want);
      if (!g.ok() || !drop_to_nobody()) return kSkipCode;
      return check(want);
    }
    auto cur = read_sysctl("fs.mqueue." + sysctl);
    if (!cur || *cur > max_current || has_capability(kCapSysResource)) return kSkipCode;
    return check(*cur);
  });
}

#define EXPECT_CHILD_OK(r) EXPECT_TRUE((r).exited && (r).code == 0) << (r).describe()
#define SKIP_IF_CHILD_SKIPPED(r, why) \
  if ((r).exited && (r).code == kSkipCode) CONFORM_SKIP(why)

// mq_overview(7): a name is "/somename"; mq_open(3): EINVAL if it does not follow that format.
TEST(PosixMq, NameWithoutLeadingSlashFailsEinval) {
  CONFORM_MAN("mq_open(3)");
  std::string name = unique_name().substr(1);
  EXPECT_EQ(open_errno(name, O_RDWR | O_CREAT), EINVAL);
}

// mq_open(3): EACCES if name contained more than one slash.
TEST(PosixMq, NameWithSecondSlashFailsEacces) {
  CONFORM_MAN("mq_open(3)");
  EXPECT_EQ(open_errno(unique_name() + "/x", O_RDWR | O_CREAT), EACCES);
}

// mq_open(3): ENOENT if name was just "/" followed by no other characters.
TEST(PosixMq, NameJustSlashFailsEnoent) {
  CONFORM_MAN("mq_open(3)");
  EXPECT_EQ(open_errno("/", O_RDWR | O_CREAT), ENOENT);
}

// mq_overview(7): a name has up to NAME_MAX (255) characters; mq_open(3): ENAMETOOLONG beyond.
TEST(PosixMq, NameLongerThanNameMaxFailsEnametoolong) {
  CONFORM_MAN("mq_open(3)");
  std::string at = unique_name();
  at.resize(NAME_MAX + 1, 'n');  // the slash and NAME_MAX characters
  EXPECT_EQ(open_errno(at, O_RDWR | O_CREAT), 0) << "a name of exactly NAME_MAX characters";
  EXPECT_EQ(open_errno(at + "n", O_RDWR | O_CREAT), ENAMETOOLONG);
}

// mq_open(3): EEXIST if O_CREAT and O_EXCL were given and the queue exists.
TEST(PosixMq, ExclusiveCreateOfExistingFailsEexist) {
  CONFORM_MAN("mq_open(3)");
  Queue q;
  create(q);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(open_errno(q.name, O_RDWR | O_CREAT | O_EXCL), EEXIST);
}

// mq_open(3): ENOENT if O_CREAT was not given and no queue with this name exists;
// mq_unlink(3): ENOENT for a name that does not exist.
TEST(PosixMq, OpenOrUnlinkOfMissingQueueFailsEnoent) {
  CONFORM_MAN("mq_open(3)");
  std::string name = unique_name();
  EXPECT_EQ(open_errno(name, O_RDWR), ENOENT);
  EXPECT_EQ(::mq_unlink(name.c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
}

// mq_open(3): EINVAL if attr->mq_maxmsg or attr->mq_msgsize is not greater than zero.
TEST(PosixMq, NonPositiveAttributesFailEinval) {
  CONFORM_MAN("mq_open(3)");
  for (auto [maxmsg, msgsize] : {std::pair{0L, 64L}, {4L, 0L}, {-1L, 64L}, {4L, -1L}}) {
    EXPECT_EQ(open_errno(unique_name(), O_RDWR | O_CREAT, maxmsg, msgsize), EINVAL)
        << "maxmsg " << maxmsg << " msgsize " << msgsize;
  }
}

// mq_overview(7): with attr NULL a queue gets mq_maxmsg = min(msg_default, msg_max) and
// mq_msgsize = min(msgsize_default, msgsize_max).
TEST(PosixMq, NullAttributesUseTheDefaults) {
  CONFORM_MAN("mq_overview(7)");
  auto md = read_sysctl("fs.mqueue.msg_default"), mm = read_sysctl("fs.mqueue.msg_max");
  auto sd = read_sysctl("fs.mqueue.msgsize_default"), sm = read_sysctl("fs.mqueue.msgsize_max");
  if (!md || !mm || !sd || !sm) CONFORM_SKIP("fs.mqueue sysctls not readable");
  Queue q;
  q.q = ::mq_open(q.name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, nullptr);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mq_attr a{};
  ASSERT_EQ(::mq_getattr(q.q, &a), 0);
  EXPECT_EQ(a.mq_maxmsg, std::min(*md, *mm));
  EXPECT_EQ(a.mq_msgsize, std::min(*sd, *sm));
}

// mq_overview(7), mq_open(3): an unprivileged process may ask for mq_maxmsg up to msg_max;
// one more fails EINVAL.
TEST(PosixMq, UnprivilegedMaxmsgExactlyAtAndOnePastMsgMax) {
  CONFORM_MAN("mq_overview(7)");
  auto r = with_unprivileged_limit("msg_max", 8, 4096, [](long long limit) {
    if (open_errno(unique_name(), O_RDWR | O_CREAT, limit, 1) != 0) return child_fail(1, "at");
    if (open_errno(unique_name(), O_RDWR | O_CREAT, limit + 1, 1) != EINVAL) return 2;
    return 0;
  });
  SKIP_IF_CHILD_SKIPPED(r, "not root and msg_max too high to reach safely, or CAP_SYS_RESOURCE");
  EXPECT_CHILD_OK(r);
}

// mq_overview(7), mq_open(3): an unprivileged process may ask for mq_msgsize up to msgsize_max;
// one more fails EINVAL.
TEST(PosixMq, UnprivilegedMsgsizeExactlyAtAndOnePastMsgsizeMax) {
  CONFORM_MAN("mq_overview(7)");
  auto r = with_unprivileged_limit("msgsize_max", 1024, 65536, [](long long limit) {
    if (open_errno(unique_name(), O_RDWR | O_CREAT, 1, limit) != 0) return child_fail(1, "at");
    if (open_errno(unique_name(), O_RDWR | O_CREAT, 1, limit + 1) != EINVAL) return 2;
    return 0;
  });
  SKIP_IF_CHILD_SKIPPED(r,
                        "not root and msgsize_max too high to reach safely, or CAP_SYS_RESOURCE");
  EXPECT_CHILD_OK(r);
}

// mq_overview(7): msg_max and msgsize_max are ignored with CAP_SYS_RESOURCE, but HARD_MSGMAX
// (65536) and HARD_MSGSIZEMAX (16 MiB) still apply.
TEST(PosixMq, PrivilegedExceedsMsgMaxButNotHardLimits) {
  CONFORM_MAN("mq_overview(7)");
  if (!has_capability(kCapSysResource)) {
    CONFORM_SKIP("needs CAP_SYS_RESOURCE (not in this process's capability set)");
  }
  auto mm = read_sysctl("fs.mqueue.msg_max");
  if (!mm || *mm >= 65536) CONFORM_SKIP("msg_max already at HARD_MSGMAX");
  EXPECT_EQ(open_errno(unique_name(), O_RDWR | O_CREAT, *mm + 1, 1), 0);
  EXPECT_EQ(open_errno(unique_name(), O_RDWR | O_CREAT, 65537, 1), EINVAL);
  EXPECT_EQ(open_errno(unique_name(), O_RDWR | O_CREAT, 1, 16 * 1024 * 1024 + 1), EINVAL);
}

// mq_overview(7): queues_max limits the number of queues; mq_open(3): ENOSPC past it.
TEST(PosixMq, QueuesMaxEnforcedEnospc) {
  CONFORM_MAN("mq_overview(7)");
  if (!is_root()) CONFORM_SKIP("not root: queues_max is lowered only in a private IPC namespace");
  auto r = with_unprivileged_limit("queues_max", 2, 0, [](long long) {
    Queue a, b;
    create(a);
    create(b);
    if (!a.ok() || !b.ok()) return child_fail(1, "two queues under queues_max=2");
    return open_errno(unique_name(), O_RDWR | O_CREAT) == ENOSPC ? 0 : 2;
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot make a private IPC namespace");
  EXPECT_CHILD_OK(r);
}

// getrlimit(2), mq_overview(7): RLIMIT_MSGQUEUE caps the bytes of a user's queues; mq_open(3)
// fails EMFILE past it.
TEST(PosixMq, RlimitMsgqueueEnforcedEmfile) {
  CONFORM_MAN("mq_overview(7)");
  auto r = run_in_child([] {
    if (is_root() && !drop_to_nobody()) return kSkipCode;  // root's bytes are shared with others
    long maxmsg =
        static_cast<long>(std::min<long long>(read_sysctl("fs.mqueue.msg_max").value_or(1), 10));
    long size = static_cast<long>(
        std::min<long long>(read_sysctl("fs.mqueue.msgsize_max").value_or(128), 8192));
    rlimit rl{};
    ::getrlimit(RLIMIT_MSGQUEUE, &rl);
    rl.rlim_cur = static_cast<rlim_t>(maxmsg * size / 2);
    if (rl.rlim_cur < 1024 || rl.rlim_cur > rl.rlim_max) return kSkipCode;
    if (::setrlimit(RLIMIT_MSGQUEUE, &rl) != 0) return child_fail(1, "setrlimit");
    if (open_errno(unique_name(), O_RDWR | O_CREAT, 1, 1) != 0) return child_fail(2, "small");
    return open_errno(unique_name(), O_RDWR | O_CREAT, maxmsg, size) == EMFILE ? 0 : 3;
  });
  SKIP_IF_CHILD_SKIPPED(r, "msg_max * msgsize_max too small to tell the rlimit apart");
  EXPECT_CHILD_OK(r);
}

// mq_send(3): EMSGSIZE if msg_len is greater than mq_msgsize; exactly mq_msgsize is fine.
TEST(PosixMq, SendLongerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[17] = {};
  EXPECT_EQ(::mq_send(q.q, buf, 16, 0), 0);
  EXPECT_EQ(::mq_send(q.q, buf, 17, 0), -1);
  EXPECT_EQ(errno, EMSGSIZE);
}

// mq_receive(3): EMSGSIZE if msg_len is less than mq_msgsize (even when the message is shorter).
TEST(PosixMq, ReceiveBufferSmallerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "x", 1, 0), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, 15, nullptr), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_EQ(current_curmsgs(q.q), 1) << "the message stays queued";
}

// mq_send(3): EBADF if the descriptor is not open for writing; mq_receive(3): EBADF if it is
// not open for reading.
TEST(PosixMq, WrongAccessModeFailsEbadf) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mqd_t ro = ::mq_open(q.name.c_str(), O_RDONLY);
  mqd_t wo = ::mq_open(q.name.c_str(), O_WRONLY);
  Cleanup close_both([&] { ::mq_close(ro), ::mq_close(wo); });
  ASSERT_NE(ro, static_cast<mqd_t>(-1));
  ASSERT_NE(wo, static_cast<mqd_t>(-1));
  EXPECT_EQ(::mq_send(ro, "x", 1, 0), -1);
  EXPECT_EQ(errno, EBADF);
  char buf[16];
  EXPECT_EQ(::mq_receive(wo, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EBADF);
}

// mq_send(3): EAGAIN if the queue is full and O_NONBLOCK is set.
TEST(PosixMq, NonblockingSendOnFullQueueFailsEagain) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 2, 16, O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  EXPECT_EQ(::mq_send(q.q, "b", 1, 0), 0);
  EXPECT_EQ(::mq_send(q.q, "c", 1, 0), -1);
  EXPECT_EQ(errno, EAGAIN);
}

// mq_receive(3): EAGAIN if the queue is empty and O_NONBLOCK is set.
TEST(PosixMq, NonblockingReceiveOnEmptyQueueFailsEagain) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 2, 16, O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN);
}

// mq_receive(3): mq_timedreceive fails ETIMEDOUT once the absolute CLOCK_REALTIME deadline passes.
TEST(PosixMq, TimedReceiveTimesOutAtAbsoluteDeadline) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = realtime_in(kShortMs);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
  EXPECT_LT(ms_since(t0), 2000);
}

// mq_send(3): mq_timedsend on a full queue fails ETIMEDOUT once the deadline passes.
TEST(PosixMq, TimedSendOnFullQueueTimesOut) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 1, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  timespec dl = realtime_in(kShortMs);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::mq_timedsend(q.q, "b", 1, 0, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_GE(ms_since(t0), kShortMs - 1);
}

// mq_receive(3): a deadline already in the past fails ETIMEDOUT at once when the call would block.
TEST(PosixMq, PastDeadlineTimesOutImmediately) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = realtime_in(-1000);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  EXPECT_LT(ms_since(t0), 20);
}

// mq_receive(3): EINVAL if the call would block and abs_timeout's tv_nsec is >= 1000 million.
TEST(PosixMq, InvalidTimeoutWhenBlockingFailsEinval) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  timespec dl = realtime_in(1000);
  dl.tv_nsec = 1000000000;
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &dl), -1);
  EXPECT_EQ(errno, EINVAL);
}

// mq_receive(3): EINTR if a signal handler (installed without SA_RESTART) interrupts the call.
TEST(PosixMq, BlockedReceiveInterruptedBySignalFailsEintr) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  InterruptingSignal sig(SIGUSR1);
  sig.send_after(20);
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EINTR);
}

// signal(7): mq_receive is restarted after a handler installed with SA_RESTART.
TEST(PosixMq, BlockedReceiveRestartedWithSaRestart) {
  CONFORM_MAN("signal(7)");
  Queue q;
  create(q, 2, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  struct sigaction sa {
  }, old{};
  sa.sa_handler = [](int) {};
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGUSR1, &sa, &old);
  Cleanup restore([&] { ::sigaction(SIGUSR1, &old, nullptr); });
  pthread_t self = ::pthread_self();
  mqd_t w = q.q;
  std::thread t([self, w] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::pthread_kill(self, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::mq_send(w, "late", 4, 0);
  });
  char buf[16];
  ssize_t n = ::mq_receive(q.q, buf, sizeof buf, nullptr);
  int err = errno;
  t.join();
  EXPECT_EQ(n, 4) << std::strerror(err);
}

// mq_send(3): messages are received highest priority first; mq_receive returns the priority.
TEST(PosixMq, HigherPriorityReceivedFirst) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "low", 3, 1), 0);
  ASSERT_EQ(::mq_send(q.q, "high", 4, 7), 0);
  ASSERT_EQ(::mq_send(q.q, "mid", 3, 3), 0);
  char buf[16];
  unsigned prio = 0;
  for (unsigned want : {7u, 3u, 1u}) {
    ASSERT_GT(::mq_receive(q.q, buf, sizeof buf, &prio), 0);
    EXPECT_EQ(prio, want);
  }
}

// mq_send(3): messages of equal priority are received oldest first.
TEST(PosixMq, FifoWithinOnePriority) {
  CONFORM_MAN("mq_send(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  for (char c : std::string("abc")) ASSERT_EQ(::mq_send(q.q, &c, 1, 5), 0);
  std::string got;
  char buf[16];
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
    got += buf[0];
  }
  EXPECT_EQ(got, "abc");
}

// mq_overview(7), mq_receive(3): each receive returns exactly one message with its own length,
// including a zero-length one.
TEST(PosixMq, MessageBoundariesKept) {
  CONFORM_MAN("mq_receive(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "hello", 5, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "", 0, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "ab", 2, 0), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 5);
  EXPECT_EQ(std::string(buf, 5), "hello");
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 0);
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 2);
}

// mq_getattr(3): mq_curmsgs is the number of messages currently in the queue.
TEST(PosixMq, GetattrCountsQueuedMessages) {
  CONFORM_MAN("mq_getattr(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  EXPECT_EQ(current_curmsgs(q.q), 0);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  ASSERT_EQ(::mq_send(q.q, "b", 1, 0), 0);
  EXPECT_EQ(current_curmsgs(q.q), 2);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  EXPECT_EQ(current_curmsgs(q.q), 1);
}

// mq_getattr(3): mq_setattr changes only O_NONBLOCK; the other fields of newattr are ignored,
// and the old attributes come back in oldattr.
TEST(PosixMq, SetattrChangesOnlyNonblock) {
  CONFORM_MAN("mq_getattr(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mq_attr want{}, old{}, now{};
  want.mq_flags = O_NONBLOCK;
  want.mq_maxmsg = 2;
  want.mq_msgsize = 8;
  ASSERT_EQ(::mq_setattr(q.q, &want, &old), 0);
  EXPECT_EQ(old.mq_flags & O_NONBLOCK, 0);
  ASSERT_EQ(::mq_getattr(q.q, &now), 0);
  EXPECT_EQ(now.mq_flags & O_NONBLOCK, O_NONBLOCK);
  EXPECT_EQ(now.mq_maxmsg, 4);
  EXPECT_EQ(now.mq_msgsize, 16);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), -1);
  EXPECT_EQ(errno, EAGAIN) << "O_NONBLOCK now applies";
}

// mq_setattr(3): EINVAL if newattr->mq_flags has bits other than O_NONBLOCK.
TEST(PosixMq, SetattrWithOtherFlagsFailsEinval) {
  CONFORM_MAN("mq_setattr(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  mq_attr want{};
  want.mq_flags = O_NONBLOCK | O_APPEND;
  EXPECT_EQ(::mq_setattr(q.q, &want, nullptr), -1);
  EXPECT_EQ(errno, EINVAL);
}

// mq_notify(3): only one process can be registered; another gets EBUSY until it unregisters.
TEST(PosixMq, NotifySecondProcessFailsEbusy) {
  CONFORM_MAN("mq_notify(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  ASSERT_EQ(::mq_notify(q.q, &ev), 0) << std::strerror(errno);
  mqd_t d = q.q;
  auto try_register = [d] {
    sigevent e{};
    e.sigev_notify = SIGEV_NONE;
    return ::mq_notify(d, &e) == 0 ? 0 : (errno == EBUSY ? 10 : 11);
  };
  auto busy = run_in_child(try_register);
  EXPECT_TRUE(busy.exited && busy.code == 10) << busy.describe() << " (10 = EBUSY)";
  ASSERT_EQ(::mq_notify(q.q, nullptr), 0);
  auto free_again = run_in_child(try_register);
  EXPECT_CHILD_OK(free_again);
}

// mq_notify(3): a message arriving on an empty queue sends the signal with si_code SI_MESGQ,
// once: the registration is then removed.
TEST(PosixMq, NotifySignalsOnceWithSiMesgq) {
  CONFORM_MAN("mq_notify(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &set, &old);
  Cleanup unblock([&] { ::pthread_sigmask(SIG_SETMASK, &old, nullptr); });
  sigevent ev{};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ASSERT_EQ(::mq_notify(q.q, &ev), 0) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  siginfo_t info{};
  timespec wait{1, 0};
  ASSERT_EQ(::sigtimedwait(&set, &info, &wait), SIGUSR2);
  EXPECT_EQ(info.si_code, SI_MESGQ);
  mqd_t d = q.q;
  auto r = run_in_child([d] {
    sigevent e{};
    e.sigev_notify = SIGEV_NONE;
    return ::mq_notify(d, &e) == 0 ? 0 : 1;
  });
  EXPECT_CHILD_OK(r) << " (registration should be gone after one notification)";
}

// mq_overview(7): queues have kernel persistence: a queue and its messages outlive the creator.
TEST(PosixMq, QueueAndMessagesOutliveCreator) {
  CONFORM_MAN("mq_overview(7)");
  Queue q;  // owns the name; the child creates it
  std::string name = q.name;
  auto r = run_in_child([&name] {
    mqd_t c = open_queue(name, O_WRONLY | O_CREAT | O_EXCL, 4, 16);
    if (c == static_cast<mqd_t>(-1)) return child_fail(1, "mq_open");
    return ::mq_send(c, "kept", 4, 0) == 0 ? 0 : child_fail(2, "mq_send");
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  q.q = ::mq_open(name.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 4);
  EXPECT_EQ(std::string(buf, 4), "kept");
}

// mq_unlink(3): the name goes at once; the queue is destroyed only when the last descriptor is
// closed, and a new O_CREAT makes a new, empty queue.
TEST(PosixMq, UnlinkWhileOpenKeepsQueueUntilClosed) {
  CONFORM_MAN("mq_unlink(3)");
  Queue q;
  create(q, 4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "old", 3, 0), 0);
  ASSERT_EQ(::mq_unlink(q.name.c_str()), 0);
  EXPECT_EQ(open_errno(q.name, O_RDWR), ENOENT);
  Queue fresh;
  fresh.name = q.name;
  create(fresh, 4, 16);
  ASSERT_TRUE(fresh.ok()) << std::strerror(errno);
  EXPECT_EQ(current_curmsgs(fresh.q), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 3) << "the unlinked queue still works";
}

// mq_open(3): EACCES if the queue exists but the caller lacks permission for the mode asked.
TEST(PosixMq, ModeBitsEnforcedEacces) {
  CONFORM_MAN("mq_open(3)");
  Queue q;
  // As root another user is denied a 0600 queue; otherwise the owner is denied write on 0400.
  mode_t mode = is_root() ? 0600 : 0400;
  q.q = open_queue(q.name, O_RDONLY | O_CREAT | O_EXCL, 4, 16, mode);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  std::string name = q.name;
  auto r = run_in_child([&name] {
    if (is_root() && !drop_to_nobody()) return 1;
    return open_errno(name, O_WRONLY) == EACCES ? 0 : 2;
  });
  EXPECT_CHILD_OK(r);
}

}  // namespace
}  // namespace ipcb::conform
