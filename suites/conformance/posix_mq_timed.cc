// Conformance of blocking and timed POSIX message queue calls (mq_send(3), mq_receive(3)):
// O_NONBLOCK, blocking until room or a message, EINTR and SA_RESTART, absolute CLOCK_REALTIME
// deadlines (passed, past, invalid) and bad pointers. Blocked callers are children, acted on
// once they sleep in the call.
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

constexpr int kShortMs = 30;  // how long the timeout tests wait

// The two directions of every case here: mq_send / mq_timedsend of "b" (or mq_receive /
// mq_timedreceive into a 16-byte buffer).
enum class Op { kSend, kReceive };

// mq_send (deadline nullptr) or mq_timedsend of "b" with priority `prio` to `q`, or the same
// receive: 0 or the errno.
int call(Op op, mqd_t q, const timespec* deadline = nullptr, unsigned prio = 0) {
  char buf[16];
  if (op == Op::kSend) {
    return failed_with(deadline == nullptr ? ::mq_send(q, "b", 1, prio)
                                           : ::mq_timedsend(q, "b", 1, prio, deadline));
  }
  return failed_with(deadline == nullptr
                         ? ::mq_receive(q, buf, sizeof buf, nullptr)
                         : ::mq_timedreceive(q, buf, sizeof buf, nullptr, deadline));
}

// A queue the call `op` blocks on: for a send, full (one 16-byte slot holding "a"); for a
// receive, empty (two 16-byte slots).
void make_blocking(Op op, MqQueue& q) {
  ASSERT_TRUE(op == Op::kSend ? make_queue(q, 1, 16, {"a"}) : make_queue(q, 2, 16));
}

// mq_send(3) / mq_receive(3): EAGAIN if the queue is full (for a send) or empty (for a receive)
// and O_NONBLOCK is set, from the plain and the timed call; nothing is queued or removed.
struct NonblockingCase {
  CaseInfo info;
  Op op;
  const char* queued;  // the messages that fill a two-slot queue first, in order
};
void nonblocking_fails_eagain(const NonblockingCase& c) {
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 2, 16, {}, O_NONBLOCK));
  for (const char* m = c.queued; *m != 0; ++m) EXPECT_EQ(::mq_send(q.q, m, 1, 0), 0);
  EXPECT_EQ(call(c.op, q.q, nullptr, 9), EAGAIN);
  timespec later = clock_in(CLOCK_REALTIME, 1000);
  EXPECT_EQ(call(c.op, q.q, &later, 9), EAGAIN);
  EXPECT_EQ(mq_curmsgs(q.q), static_cast<long>(std::strlen(c.queued)));
  char buf[16];
  for (const char* want = c.queued; *want != 0; ++want) {
    ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
    EXPECT_EQ(buf[0], *want);
  }
}
const NonblockingCase kNonblocking[] = {
    {{"NonblockingSendOnFullQueueFailsEagain", "mq_send(3)", "Q28"}, Op::kSend, "ab"},
    {{"NonblockingReceiveOnEmptyQueueFailsEagain", "mq_receive(3)", "Q38"}, Op::kReceive, ""},
};
CONFORM_CASES("PosixMq", kNonblocking, nonblocking_fails_eagain);

// mq_send(3): a blocking send to a full queue sleeps until a receive makes room, then queues the
// message. mq_receive(3): a blocking receive from an empty queue sleeps until a message arrives
// and then returns it. In both, a signal caught without SA_RESTART ends the wait with EINTR,
// nothing queued.
struct BlockedCase {
  CaseInfo info;
  Op op;
};
void blocked_waits_or_fails_eintr(const BlockedCase& c) {
  const bool send = c.op == Op::kSend;
  const char* what = send ? "mq_send on a full queue" : "mq_receive on an empty queue";
  MqQueue q;
  ASSERT_NO_FATAL_FAILURE(make_blocking(c.op, q));
  mqd_t d = q.q;
  AsyncChild waiter([d, send](const AsyncChild::Ready& ready) {
    char buf[16];
    ready();
    if (send) return failed_with(::mq_send(d, "b", 1, 0));
    long n = ::mq_receive(d, buf, sizeof buf, nullptr);
    return n == 4 && std::memcmp(buf, "late", 4) == 0 ? 0 : 1;
  });
  ASSERT_TRUE(waiter.wait_blocked()) << what << " did not block";
  char buf[16];
  if (send) {
    ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  } else {
    ASSERT_EQ(::mq_send(q.q, "late", 4, 0), 0);
  }
  ChildResult r = waiter.wait();
  if (send) {
    EXPECT_EQ(r.code, 0) << r.describe() << " (the send did not complete once there was room)";
    EXPECT_EQ(mq_curmsgs(q.q), 1);
  } else {
    EXPECT_CHILD_OK(r) << " (the receiver did not get the message)";
  }
  AsyncChild interrupted([d, send](const AsyncChild::Ready& ready) {
    InterruptingSignal sig(SIGUSR1);
    char buf[16];
    ready();
    return failed_with(send ? ::mq_send(d, "c", 1, 0) : ::mq_receive(d, buf, sizeof buf, nullptr));
  });
  ASSERT_TRUE(interrupted.wait_blocked()) << what << " did not block";
  ASSERT_EQ(::kill(interrupted.pid(), SIGUSR1), 0);
  r = interrupted.wait();
  EXPECT_EQ(r.code, EINTR) << r.describe();
  if (send) {
    ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
    EXPECT_EQ(buf[0], 'b');
    EXPECT_EQ(mq_curmsgs(q.q), 0) << "the interrupted message was queued";
  }
}
const BlockedCase kBlocked[] = {
    {{"BlockedSendWaitsForRoomOrFailsEintr", "mq_send(3)", "Q31"}, Op::kSend},
    {{"BlockedReceiveWaitsForMessageOrFailsEintr", "mq_receive(3)", "Q39"}, Op::kReceive},
};
CONFORM_CASES("PosixMq", kBlocked, blocked_waits_or_fails_eintr);

// mq_send(3) / mq_receive(3): EINVAL from mq_timedsend on a full queue, or mq_timedreceive on
// an empty one, if abs_timeout is invalid: tv_sec < 0, tv_nsec < 0 or tv_nsec >= 1000 million.
struct TimedCase {
  CaseInfo info;
  Op op;
};
void invalid_timeout_fails_einval(const TimedCase& c) {
  MqQueue q;
  ASSERT_NO_FATAL_FAILURE(make_blocking(c.op, q));
  timespec now = clock_in(CLOCK_REALTIME, 1000);
  for (timespec bad :
       {timespec{-1, 0}, timespec{now.tv_sec, -1}, timespec{now.tv_sec, 1000000000}}) {
    EXPECT_EQ(call(c.op, q.q, &bad), EINVAL) << bad.tv_sec << "." << bad.tv_nsec;
  }
}
const TimedCase kInvalidTimeout[] = {
    {{"TimedSendWithInvalidTimeoutFailsEinval", "mq_send(3)", "Q32"}, Op::kSend},
    {{"InvalidTimeoutWhenBlockingFailsEinval", "mq_receive(3)", "Q40"}, Op::kReceive},
};
CONFORM_CASES("PosixMq", kInvalidTimeout, invalid_timeout_fails_einval);

// mq_send(3) / mq_receive(3): mq_timedsend on a full queue, or mq_timedreceive on an empty one,
// fails ETIMEDOUT once the absolute CLOCK_REALTIME deadline has passed, and at once for a
// deadline already in the past (a send queues nothing). For the receive, a CLOCK_MONOTONIC reading
// 2 s ahead lies, as a realtime date, in the past and is not waited for either.
void times_out(const TimedCase& c) {
  MqQueue q;
  ASSERT_NO_FATAL_FAILURE(make_blocking(c.op, q));
  expect_timeout_at_deadline(CLOCK_REALTIME, kShortMs,
                             [&](const timespec& dl) { return call(c.op, q.q, &dl); });
  std::vector<timespec> past = {clock_in(CLOCK_REALTIME, -1000)};
  if (c.op == Op::kReceive) past.push_back(clock_in(CLOCK_MONOTONIC, 2000));
  for (timespec p : past) {
    timespec t0 = clock_in(CLOCK_MONOTONIC, 0);
    EXPECT_EQ(call(c.op, q.q, &p), ETIMEDOUT);
    EXPECT_LT(ms_since(t0), 20) << "a past deadline is not waited for";
  }
  if (c.op == Op::kSend) {
    EXPECT_EQ(mq_curmsgs(q.q), 1);
  }
}
const TimedCase kTimesOut[] = {
    {{"TimedSendOnFullQueueTimesOut", "mq_send(3)", "Q33"}, Op::kSend},
    {{"TimedReceiveTimesOutAtRealtimeDeadline", "mq_receive(3)", "Q41"}, Op::kReceive},
};
CONFORM_CASES("PosixMq", kTimesOut, times_out);

// mq_send(3): if the queue has room, mq_timedsend succeeds at once, however far in the past
// abs_timeout lies (the timeout is not looked at).
TEST(PosixMq, TimedSendWithRoomIgnoresPastDeadline) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q34");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 2, 16));
  timespec past = clock_in(CLOCK_REALTIME, -60000);
  timespec epoch{0, 0};
  EXPECT_EQ(::mq_timedsend(q.q, "a", 1, 0, &past), 0) << std::strerror(errno);
  EXPECT_EQ(::mq_timedsend(q.q, "b", 1, 0, &epoch), 0) << std::strerror(errno);
  EXPECT_EQ(mq_curmsgs(q.q), 2);
}

// mq_timedsend and mq_timedreceive system calls: EFAULT for a message buffer or an abs_timeout
// that is not valid memory. The glibc wrappers pass the pointers through; a libc that touched
// them would die of SIGSEGV instead, which the page allows.
TEST(PosixMq, BadPointersFailEfault) {
  CONFORM_MAN("mq_send(3)");
  CONFORM_ROWS("Q35");
  InaccessiblePage bad;
  ASSERT_NE(bad.get(), nullptr);
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 2, 16));
  char buf[16];
  EXPECT_EQ(failed_with(::syscall(SYS_mq_timedsend, q.q, bad.get(), 1, 0, nullptr)), EFAULT);
  EXPECT_EQ(failed_with(::syscall(SYS_mq_timedsend, q.q, "a", 1, 0, bad.get())), EFAULT);
  EXPECT_EQ(mq_curmsgs(q.q), 0) << "a message was queued";
  EXPECT_EQ(failed_with(::syscall(SYS_mq_timedreceive, q.q, buf, 16, nullptr, bad.get())), EFAULT);
  ASSERT_EQ(::mq_send(q.q, "m", 1, 0), 0);
  EXPECT_EQ(failed_with(::syscall(SYS_mq_timedreceive, q.q, bad.get(), 16, nullptr, nullptr)),
            EFAULT);
  mqd_t d = q.q;
  void* p = bad.get();
  auto libc = run_in_child([d, p] {
    timespec later = clock_in(CLOCK_REALTIME, 1000);
    int a = failed_with(::mq_timedsend(d, static_cast<const char*>(p), 1, 0, &later));
    int b = failed_with(::mq_timedsend(d, "a", 1, 0, static_cast<const timespec*>(p)));
    return a == EFAULT && b == EFAULT ? 0 : 1;
  });
  EXPECT_TRUE((libc.exited && libc.code == 0) || libc.signal == SIGSEGV) << libc.describe();
}

std::atomic<int>* g_handled = nullptr;
void count_handled(int) {
  if (g_handled) g_handled->fetch_add(1);
}

// signal(7): mq_receive interrupted by a handler installed with SA_RESTART is restarted: the
// handler runs once, the call sleeps again, and returns the message sent after that.
TEST(PosixMq, BlockedReceiveRestartedWithSaRestart) {
  CONFORM_MAN("signal(7)");
  if (kBuiltWithTsan) {
    CONFORM_SKIP(
        "built with TSan, which defers signal handlers during calls it does not intercept "
        "(mq_receive), so the handler cannot run while the call sleeps");
  }
  SharedMemory<std::atomic<int>> handled;
  ASSERT_TRUE(handled.ok());
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 2, 16));
  mqd_t d = q.q;
  AsyncChild receiver([&handled, d](const AsyncChild::Ready& ready) {
    g_handled = handled.get();
    struct sigaction sa {};
    sa.sa_handler = count_handled;
    sa.sa_flags = SA_RESTART;
    if (::sigaction(SIGUSR1, &sa, nullptr) != 0) return kSetupFailed;
    char buf[16];
    ready();
    long n = ::mq_receive(d, buf, sizeof buf, nullptr);
    return n == 4 ? 0 : 1;
  });
  ASSERT_TRUE(receiver.wait_blocked()) << "mq_receive on an empty queue did not block";
  ASSERT_EQ(::kill(receiver.pid(), SIGUSR1), 0);
  for (int i = 0; i < 2000 && handled->load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(handled->load(), 1) << "the handler did not run";
  ASSERT_TRUE(wait_until_blocked(receiver.pid(), 2000)) << "the call was not restarted";
  ASSERT_EQ(::mq_send(q.q, "late", 4, 0), 0);
  ChildResult r = receiver.wait();
  EXPECT_CHILD_OK(r) << " (1: mq_receive failed instead of restarting)";
}

// mq_receive(3): when a message is available, mq_timedreceive returns it, however far in the
// past abs_timeout lies.
TEST(PosixMq, TimedReceiveWithMessageIgnoresPastDeadline) {
  CONFORM_MAN("mq_receive(3)");
  CONFORM_ROWS("Q42");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 2, 16, {"here", "too"}));
  char buf[16];
  timespec past = clock_in(CLOCK_REALTIME, -60000), epoch{0, 0};
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &past), 4) << std::strerror(errno);
  EXPECT_EQ(std::string(buf, 4), "here");
  EXPECT_EQ(::mq_timedreceive(q.q, buf, sizeof buf, nullptr, &epoch), 3) << std::strerror(errno);
}

}  // namespace
}  // namespace ipcb::conform
