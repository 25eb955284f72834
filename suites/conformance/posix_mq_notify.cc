// Conformance of mq_notify(3): notification on the empty to non-empty transition (SIGEV_NONE,
// SIGEV_SIGNAL with its siginfo, SIGEV_THREAD), one registrant at a time, unregistering, one
// shot, mq_close by the registrant, a blocked receiver taking precedence, bad sigevents.
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// SIGUSR2 blocked in this thread for the scope, so notifications wait for sigtimedwait.
class BlockedSignal {
 public:
  BlockedSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGUSR2);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~BlockedSignal() {
    drain();
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  BlockedSignal(const BlockedSignal&) = delete;
  BlockedSignal& operator=(const BlockedSignal&) = delete;
  // Takes a pending SIGUSR2, waiting up to `ms`; its siginfo, or si_signo 0 if none came.
  siginfo_t take(int ms = 0) {
    siginfo_t info{};
    timespec wait{ms / 1000, (ms % 1000) * 1000000L};
    if (::sigtimedwait(&set_, &info, &wait) != SIGUSR2) info.si_signo = 0;
    return info;
  }
  void drain() {
    while (take().si_signo != 0) {
    }
  }

 private:
  sigset_t set_, old_;
};

// SIGEV_SIGNAL of SIGUSR2 with si_value `value`; SIGEV_NONE.
sigevent signal_event(int value = 0) {
  sigevent ev{};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_value.sival_int = value;
  return ev;
}
sigevent none_event() {
  sigevent ev{};
  ev.sigev_notify = SIGEV_NONE;
  return ev;
}

// Creates `q` (4 messages of 16 bytes) and registers `ev` on it: success, or why not.
::testing::AssertionResult registered(MqQueue& q, const sigevent& ev) {
  ::testing::AssertionResult made = make_queue(q, 4, 16);
  if (made && ::mq_notify(q.q, &ev) != 0) {
    return ::testing::AssertionFailure() << "mq_notify: " << std::strerror(errno);
  }
  return made;
}

// The errno of mq_notify with SIGEV_NONE on `name` from a fresh process, 0 if it registered.
int register_elsewhere(const std::string& name) {
  auto r = run_in_child([&name] {
    mqd_t d = ::mq_open(name.c_str(), O_RDONLY);
    if (d == static_cast<mqd_t>(-1)) return 100;
    sigevent ev = none_event();
    return failed_with(::mq_notify(d, &ev));
  });
  return r.exited ? r.code : 101;
}

// Why SIGEV_THREAD is not checked in a TSan build.
constexpr const char* kTsanThreads =
    "built with TSan, which cannot follow the thread glibc starts inside libc for SIGEV_THREAD "
    "(its callback crashes); checked in the other builds";

std::atomic<int> g_thread_value{0};
void on_thread_notification(sigval v) {
  g_thread_value.store(v.sival_int);
}

// In a child: registers SIGEV_THREAD (unregistering and registering again first if `twice`) and
// sends one message; 0 once the callback ran with the registered value (within 2 s).
int thread_notification(mqd_t q, bool twice) {
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD;
  ev.sigev_notify_function = on_thread_notification;
  ev.sigev_value.sival_int = 77;
  if (::mq_notify(q, &ev) != 0) return child_fail(1, "mq_notify SIGEV_THREAD");
  if (twice && (::mq_notify(q, nullptr) != 0 || ::mq_notify(q, &ev) != 0)) return 2;
  if (::mq_send(q, "t", 1, 0) != 0) return 3;
  for (int i = 0; i < 2000 && g_thread_value.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return g_thread_value.load() == 77 ? 0 : 4;
}

// mq_notify(3): a registration is notified when a message arrives on the empty queue: SIGEV_SIGNAL
// sends the signal with si_code SI_MESGQ, the registered si_value and the sender's pid and real uid
// (a child, nobody when root); SIGEV_NONE notifies nothing but uses up the registration;
// SIGEV_THREAD runs the function with the value. A message to a non-empty queue notifies nothing.
TEST(PosixMq, NotifyOnEmptyToNonEmptyTransition) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q43");
  BlockedSignal sig;
  MqQueue q;
  sigevent ev = signal_event(4242);
  ASSERT_TRUE(registered(q, ev));
  ASSERT_EQ(::fchmod(q.q, 0666), 0);
  std::string name = q.name;
  AsyncChild sender([&name](const AsyncChild::Ready&) {
    if (is_root() && !drop_to_nobody()) return kSetupFailed;
    mqd_t d = ::mq_open(name.c_str(), O_WRONLY);
    return d != static_cast<mqd_t>(-1) && ::mq_send(d, "s", 1, 0) == 0 ? 0 : 1;
  });
  ChildResult sent = sender.wait();
  ASSERT_TRUE(sent.exited && sent.code == 0) << sent.describe();
  siginfo_t info = sig.take(1000);
  ASSERT_EQ(info.si_signo, SIGUSR2) << "no notification";
  EXPECT_EQ(info.si_code, SI_MESGQ);
  EXPECT_EQ(info.si_value.sival_int, 4242);
  EXPECT_EQ(info.si_pid, sender.pid());
  EXPECT_EQ(info.si_uid, is_root() ? 65534u : ::getuid());
  ASSERT_EQ(::mq_notify(q.q, &ev), 0) << std::strerror(errno);  // the queue holds "s" now
  ASSERT_EQ(::mq_send(q.q, "t", 1, 0), 0);
  EXPECT_EQ(sig.take().si_signo, 0) << "notified although the queue was not empty";
  ASSERT_EQ(::mq_notify(q.q, nullptr), 0);
  ev.sigev_notify = SIGEV_NONE;
  ASSERT_EQ(::mq_notify(q.q, &ev), 0);
  EXPECT_EQ(register_elsewhere(q.name), EBUSY);
  char buf[16];
  while (::mq_receive(q.q, buf, sizeof buf, nullptr) >= 0 && mq_curmsgs(q.q) > 0) {
  }
  ASSERT_EQ(mq_curmsgs(q.q), 0);
  ASSERT_EQ(::mq_send(q.q, "u", 1, 0), 0);
  EXPECT_EQ(sig.take().si_signo, 0) << "SIGEV_NONE sent a signal";
  EXPECT_EQ(register_elsewhere(q.name), 0) << "SIGEV_NONE's registration was not used up";
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  if (kBuiltWithTsan) CONFORM_SKIP(kTsanThreads);
  mqd_t d = q.q;
  auto thread = run_in_child([d] { return thread_notification(d, false); });
  EXPECT_CHILD_OK(thread) << " (4: the SIGEV_THREAD function did not run with the value)";
}

// mq_notify(3): EBUSY while another registration exists, from this process (a second call) or
// from another one; mq_notify(NULL) removes this process's registration, and then another
// process can register.
TEST(PosixMq, NotifySecondRegistrationFailsEbusyUntilRemoved) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q44 Q47");
  MqQueue q;
  sigevent ev = none_event();
  ASSERT_TRUE(registered(q, ev));
  EXPECT_EQ(failed_with(::mq_notify(q.q, &ev)), EBUSY) << "second registration, same process";
  EXPECT_EQ(register_elsewhere(q.name), EBUSY);
  ASSERT_EQ(::mq_notify(q.q, nullptr), 0);
  EXPECT_EQ(register_elsewhere(q.name), 0);
}

// mq_notify(3): EINVAL for an invalid sigevent: sigev_notify -1, or SIGEV_SIGNAL with a signal
// number above _NSIG. The sigevent is checked before the descriptor (-1 gives EINVAL too).
TEST(PosixMq, NotifyWithBadSigeventFailsEinval) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q46");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  sigevent bad_kind{}, bad_signo = signal_event();
  bad_kind.sigev_notify = -1;
  bad_signo.sigev_signo = _NSIG + 1;
  for (mqd_t d : {q.q, static_cast<mqd_t>(-1)}) {
    EXPECT_EQ(failed_with(::mq_notify(d, &bad_kind)), EINVAL) << "sigev_notify -1, mqd " << d;
    EXPECT_EQ(failed_with(::mq_notify(d, &bad_signo)), EINVAL) << "signo > _NSIG, mqd " << d;
  }
  EXPECT_EQ(register_elsewhere(q.name), 0) << "a failed call registered";
}

// mq_notify(3): after one notification the registration is removed: a second message to the
// (again) empty queue sends nothing, and another process may register.
TEST(PosixMq, NotifySignalsOnceThenRegistrationIsFree) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q48");
  BlockedSignal sig;
  MqQueue q;
  ASSERT_TRUE(registered(q, signal_event()));
  ASSERT_EQ(::mq_send(q.q, "a", 1, 0), 0);
  EXPECT_EQ(sig.take(1000).si_code, SI_MESGQ);
  char buf[16];
  ASSERT_EQ(::mq_receive(q.q, buf, sizeof buf, nullptr), 1);
  ASSERT_EQ(::mq_send(q.q, "b", 1, 0), 0);
  EXPECT_EQ(sig.take().si_signo, 0) << "a second notification";
  EXPECT_EQ(register_elsewhere(q.name), 0) << "the registration was not removed";
}

// mq_notify(3), mq_close(3): when the registered process closes its descriptor, its registration
// is removed (the process lives on), and another process can register.
TEST(PosixMq, CloseRemovesTheClosersRegistration) {
  CONFORM_MAN("mq_close(3)");
  CONFORM_ROWS("Q19");
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  PipeFds go;
  ASSERT_TRUE(go.ok);
  std::string name = q.name;
  AsyncChild registrant([&](const AsyncChild::Ready& ready) {
    mqd_t d = ::mq_open(name.c_str(), O_RDONLY);
    sigevent ev = none_event();
    if (d == static_cast<mqd_t>(-1) || ::mq_notify(d, &ev) != 0) return 1;
    ready();
    char c;
    if (::read(go.r.get(), &c, 1) != 1 || ::mq_close(d) != 0) return 2;
    ready();
    return ::read(go.r.get(), &c, 1) == 1 ? 0 : 3;  // alive until the test is done
  });
  ASSERT_TRUE(registrant.wait_ready()) << "the child did not register";
  EXPECT_EQ(register_elsewhere(q.name), EBUSY);
  ASSERT_EQ(::write(go.w.get(), "c", 1), 1);
  ASSERT_TRUE(registrant.wait_ready()) << "the child did not close";
  EXPECT_EQ(register_elsewhere(q.name), 0) << "the registration outlived mq_close";
  ASSERT_EQ(::write(go.w.get(), "e", 1), 1);
  ChildResult r = registrant.wait();
  EXPECT_CHILD_OK(r);
}

// mq_notify(3): if a process is blocked in mq_receive when a message arrives, it receives the
// message and no notification is sent; the registration stays in effect (another process still
// gets EBUSY, and the next message to the empty queue is notified).
TEST(PosixMq, BlockedReceiverTakesMessageWithoutNotification) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q49");
  BlockedSignal sig;
  MqQueue q;
  ASSERT_TRUE(registered(q, signal_event()));
  mqd_t d = q.q;
  AsyncChild receiver([d](const AsyncChild::Ready& ready) {
    char buf[16];
    ready();
    return ::mq_receive(d, buf, sizeof buf, nullptr) == 1 && buf[0] == 'm' ? 0 : 1;
  });
  ASSERT_TRUE(receiver.wait_blocked()) << "mq_receive on an empty queue did not block";
  ASSERT_EQ(::mq_send(q.q, "m", 1, 0), 0);
  ChildResult r = receiver.wait();
  EXPECT_CHILD_OK(r) << " (the blocked receiver did not get the message)";
  EXPECT_EQ(sig.take().si_signo, 0) << "notified although a receiver took the message";
  EXPECT_EQ(register_elsewhere(q.name), EBUSY) << "the registration was removed";
  ASSERT_EQ(::mq_send(q.q, "n", 1, 0), 0);
  EXPECT_EQ(sig.take(1000).si_code, SI_MESGQ) << "the registration no longer works";
}

// mq_notify(3) SIGEV_THREAD: registering, unregistering and registering again, then a message:
// the function runs, and nothing crashes (glibc before 2.34 could, CVE-2021-38604). In a child.
TEST(PosixMq, ThreadNotificationAfterReregistration) {
  CONFORM_MAN("mq_notify(3)");
  CONFORM_ROWS("Q50");
  if (kBuiltWithTsan) CONFORM_SKIP(kTsanThreads);
  MqQueue q;
  ASSERT_TRUE(make_queue(q, 4, 16));
  mqd_t d = q.q;
  auto r = run_in_child([d] { return thread_notification(d, true); });
  EXPECT_CHILD_OK(r) << " (4: the function did not run)";
}

}  // namespace
}  // namespace ipcb::conform
