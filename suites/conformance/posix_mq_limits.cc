// Limits of POSIX message queues (mq_overview(7), mq_open(3), mq_send(3), mq_receive(3)):
// attribute bounds and defaults, msg_max / msgsize_max with and without CAP_SYS_RESOURCE,
// queues_max, RLIMIT_MSGQUEUE and message sizes against mq_msgsize.
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

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

// mq_open(3): EINVAL if attr->mq_maxmsg or attr->mq_msgsize is not greater than zero.
TEST(PosixMq, NonPositiveAttributesFailEinval) {
  CONFORM_MAN("mq_open(3)");
  for (auto [maxmsg, msgsize] : {std::pair{0L, 64L}, {4L, 0L}, {-1L, 64L}, {4L, -1L}}) {
    EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, maxmsg, msgsize), EINVAL)
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
  MqQueue q;
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
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, limit, 1) != 0) return child_fail(1, "at");
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, limit + 1, 1) != EINVAL) return 2;
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
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, limit) != 0) return child_fail(1, "at");
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, limit + 1) != EINVAL) return 2;
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
  EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, *mm + 1, 1), 0);
  EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, 65537, 1), EINVAL);
  EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, 16 * 1024 * 1024 + 1), EINVAL);
}

// mq_overview(7): queues_max limits the number of queues; mq_open(3): ENOSPC past it.
TEST(PosixMq, QueuesMaxEnforcedEnospc) {
  CONFORM_MAN("mq_overview(7)");
  if (!is_root()) CONFORM_SKIP("not root: queues_max is lowered only in a private IPC namespace");
  auto r = with_unprivileged_limit("queues_max", 2, 0, [](long long) {
    MqQueue a, b;
    a.create();
    b.create();
    if (!a.ok() || !b.ok()) return child_fail(1, "two queues under queues_max=2");
    return mq_open_errno(unique_name(), O_RDWR | O_CREAT) == ENOSPC ? 0 : 2;
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
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, 1) != 0) return child_fail(2, "small");
    return mq_open_errno(unique_name(), O_RDWR | O_CREAT, maxmsg, size) == EMFILE ? 0 : 3;
  });
  SKIP_IF_CHILD_SKIPPED(r, "msg_max * msgsize_max too small to tell the rlimit apart");
  EXPECT_CHILD_OK(r);
}

// mq_send(3): EMSGSIZE if msg_len is greater than mq_msgsize; exactly mq_msgsize is fine.
TEST(PosixMq, SendLongerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_send(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  char buf[17] = {};
  EXPECT_EQ(::mq_send(q.q, buf, 16, 0), 0);
  EXPECT_EQ(::mq_send(q.q, buf, 17, 0), -1);
  EXPECT_EQ(errno, EMSGSIZE);
}

// mq_receive(3): EMSGSIZE if msg_len is less than mq_msgsize (even when the message is shorter).
TEST(PosixMq, ReceiveBufferSmallerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_receive(3)");
  MqQueue q;
  q.create(4, 16);
  ASSERT_TRUE(q.ok()) << std::strerror(errno);
  ASSERT_EQ(::mq_send(q.q, "x", 1, 0), 0);
  char buf[16];
  EXPECT_EQ(::mq_receive(q.q, buf, 15, nullptr), -1);
  EXPECT_EQ(errno, EMSGSIZE);
  EXPECT_EQ(mq_curmsgs(q.q), 1) << "the message stays queued";
}

}  // namespace
}  // namespace ipcb::conform
