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
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// Runs `check()` in a child with a private IPC namespace (through a user namespace when not root:
// nothing outside changes) whose fs.mqueue sysctls are set to `values`, without CAP_SYS_RESOURCE
// (root drops to nobody; a user namespace's root has no capability over the host). kSkipCode if
// the namespace or a value cannot be had.
ChildResult with_unprivileged_limits(const std::vector<std::pair<std::string, long long>>& values,
                                     const std::function<int()>& check) {
  return run_in_child([&] {
    bool root = is_root();
    // Judged here: in a user namespace a process holds every capability of that namespace, none
    // of which the queue limits honour (they ask for CAP_SYS_RESOURCE over the host).
    if (!root && has_capability(kCapSysResource)) return kSkipCode;
    if (!enter_private_namespaces(CLONE_NEWIPC)) return kSkipCode;
    std::vector<std::unique_ptr<SysctlGuard>> set;  // values of the private namespace only
    for (const auto& [sysctl, value] : values) {
      set.push_back(std::make_unique<SysctlGuard>("fs.mqueue." + sysctl, value));
      if (!set.back()->ok()) return kSkipCode;
    }
    if (root && !drop_to_nobody()) return kSkipCode;  // and so loses every capability
    return check();
  });
}

// mq_open(3): EINVAL if attr->mq_maxmsg or attr->mq_msgsize is not greater than zero.
TEST(PosixMq, NonPositiveAttributesFailEinval) {
  CONFORM_MAN("mq_open(3)");
  CONFORM_ROWS("Q15");
  for (auto [maxmsg, msgsize] : {std::pair{0L, 64L}, {4L, 0L}, {-1L, 64L}, {4L, -1L}}) {
    EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, maxmsg, msgsize), EINVAL)
        << "maxmsg " << maxmsg << " msgsize " << msgsize;
  }
}

// The attributes of a queue made with attr NULL, as 1000 * mq_maxmsg + mq_msgsize (< 1000), or
// a code above 250 000 000 if that failed.
int null_attr_queue() {
  std::string name = unique_name();
  mqd_t q = ::mq_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600, nullptr);
  if (q == static_cast<mqd_t>(-1)) return 251;
  mq_attr a{};
  ::mq_getattr(q, &a);
  ::mq_close(q);
  ::mq_unlink(name.c_str());
  return a.mq_msgsize < 1000 && a.mq_maxmsg < 100
             ? static_cast<int>(a.mq_maxmsg * 1000 + a.mq_msgsize)
             : 252;
}

// mq_overview(7): with attr NULL a queue gets mq_maxmsg = min(msg_default, msg_max) and
// mq_msgsize = min(msgsize_default, msgsize_max). Checked with defaults other than the usual
// 10 and 8192 (7 and 300), and with maxima below them (5 and 200), in a private IPC namespace.
TEST(PosixMq, NullAttributesUseTheDefaults) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("Q02");
  auto under = with_unprivileged_limits({{"msg_default", 7}, {"msgsize_default", 300}}, [] {
    int got = null_attr_queue();
    return got == 7 * 1000 + 300 ? 0 : (got > 250 ? got : 1);
  });
  SKIP_IF_CHILD_SKIPPED(under, "cannot set fs.mqueue sysctls in a private IPC namespace");
  EXPECT_CHILD_OK(under) << " (1: the defaults were not used)";
  auto capped = with_unprivileged_limits(
      {{"msg_default", 7}, {"msgsize_default", 300}, {"msg_max", 5}, {"msgsize_max", 200}},
      [] { return null_attr_queue() == 5 * 1000 + 200 ? 0 : 1; });
  EXPECT_CHILD_OK(capped) << " (1: the defaults were not capped at msg_max / msgsize_max)";
}

// mq_overview(7), mq_open(3): without CAP_SYS_RESOURCE, mq_maxmsg may be up to msg_max and
// mq_msgsize up to msgsize_max (both reached exactly); one more of either fails EINVAL. The
// limits are 8 and 1024 in a private IPC namespace.
TEST(PosixMq, UnprivilegedAttributesAboveLimitsFailEinval) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("U07");
  auto r = with_unprivileged_limits({{"msg_max", 8}, {"msgsize_max", 1024}}, [] {
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 8, 1024) != 0) return child_fail(1, "at");
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 9, 1) != EINVAL) return 2;
    if (mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, 1025) != EINVAL) return 3;
    return 0;
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot set fs.mqueue sysctls in a private IPC namespace");
  EXPECT_CHILD_OK(r) << " (1: the limits themselves were refused; 2: msg_max + 1; 3: "
                        "msgsize_max + 1 accepted)";
}

// mq_overview(7): msg_max and msgsize_max are ignored with CAP_SYS_RESOURCE (a queue of 20
// messages of 16384 bytes, above the default limits 10 and 8192, is made and mq_getattr reports
// those attributes), but HARD_MSGMAX (65536) and HARD_MSGSIZEMAX (16 MiB) still apply.
TEST(PosixMq, PrivilegedExceedsMsgMaxButNotHardLimits) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("Q01");
  if (!has_capability(kCapSysResource)) {
    CONFORM_SKIP("needs CAP_SYS_RESOURCE, which this process lacks (not in its bounding set)");
  }
  auto mm = read_sysctl("fs.mqueue.msg_max"), sm = read_sysctl("fs.mqueue.msgsize_max");
  if (!mm || !sm || *mm >= 20 || *sm >= 16384) {
    CONFORM_SKIP("msg_max / msgsize_max already allow 20 x 16384: nothing to exceed");
  }
  MqQueue big;
  ASSERT_TRUE(make_queue(big, 20, 16384));
  mq_attr a{};
  ASSERT_EQ(::mq_getattr(big.q, &a), 0);
  EXPECT_EQ(a.mq_maxmsg, 20);
  EXPECT_EQ(a.mq_msgsize, 16384);
  EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, 65537, 1), EINVAL);
  EXPECT_EQ(mq_open_errno(unique_name(), O_RDWR | O_CREAT, 1, 16 * 1024 * 1024 + 1), EINVAL);
}

// mq_overview(7): queues_max limits the number of queues a process without CAP_SYS_RESOURCE may
// make; mq_open(3): ENOSPC past it. queues_max 1 in a private IPC namespace.
TEST(PosixMq, QueuesMaxEnforcedEnospc) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("Q09");
  auto r = with_unprivileged_limits({{"queues_max", 1}}, [] {
    MqQueue a;
    a.create();
    if (!a.ok()) return child_fail(1, "one queue under queues_max=1");
    return mq_open_errno(unique_name(), O_RDWR | O_CREAT) == ENOSPC ? 0 : 2;
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot set fs.mqueue sysctls in a private IPC namespace");
  EXPECT_CHILD_OK(r);
}

// getrlimit(2), mq_overview(7): RLIMIT_MSGQUEUE caps the bytes of a user's queues; mq_open(3)
// fails EMFILE past it.
TEST(PosixMq, RlimitMsgqueueEnforcedEmfile) {
  CONFORM_MAN("mq_overview(7)");
  CONFORM_ROWS("U08");
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

// mq_send(3): EMSGSIZE if msg_len is greater than mq_msgsize (mq_send and mq_timedsend);
// exactly mq_msgsize is fine.
TEST(PosixMq, SendLongerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q26");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  char buf[17] = {};
  timespec later = clock_in(CLOCK_REALTIME, 1000);
  EXPECT_EQ(failed_with(::mq_send(q.q, buf, 17, 0)), EMSGSIZE);
  EXPECT_EQ(failed_with(::mq_timedsend(q.q, buf, 17, 0, &later)), EMSGSIZE);
  EXPECT_EQ(mq_curmsgs(q.q), 0);
  EXPECT_EQ(::mq_send(q.q, buf, 16, 0), 0);
}

// mq_receive(3): EMSGSIZE if msg_len is less than mq_msgsize, even when the message is shorter
// (mq_receive and mq_timedreceive); the message stays queued.
TEST(PosixMq, ReceiveBufferSmallerThanMsgsizeFailsEmsgsize) {
  CONFORM_MAN("mq_receive(3)");
  CONFORM_ROWS("Q37");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16, {"x"}));
  char buf[16];
  timespec later = clock_in(CLOCK_REALTIME, 1000);
  EXPECT_EQ(failed_with(::mq_receive(q.q, buf, 15, nullptr)), EMSGSIZE);
  EXPECT_EQ(failed_with(::mq_timedreceive(q.q, buf, 15, nullptr, &later)), EMSGSIZE);
  EXPECT_EQ(mq_curmsgs(q.q), 1) << "the message stays queued";
  EXPECT_EQ(::mq_receive(q.q, buf, 16, nullptr), 1);
}

}  // namespace
}  // namespace ipcb::conform
