// Which message msgrcv(2) takes from a System V message queue: by type (0, > 0, < 0,
// MSG_EXCEPT), by position (MSG_COPY), whole or truncated (E2BIG, MSG_NOERROR), in order, also
// under load (every free queue slot in use, senders and receivers at once).
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// The queue the type-selection tests read: (type, text) in send order.
void fill_sample(int id) {
  const std::pair<long, const char*> sample[] = {{3, "a"}, {2, "b"}, {4, "c"}, {2, "d"}};
  for (const auto& [type, text] : sample)
    ASSERT_EQ(msg_send(id, type, text), 0) << std::strerror(errno);
}

// msgrcv(2) with IPC_NOWAIT, `msgtyp` and `flags` on the sample queue takes the first message
// that the type selects:
//   - msgtyp 0: the first message in the queue;
//   - msgtyp > 0: the first message of that type;
//   - msgtyp < 0: the first message of the lowest type <= |msgtyp|;
//   - MSG_EXCEPT and msgtyp > 0: the first message not of that type.
struct SelectCase {
  CaseInfo info;
  long msgtyp;
  int flags;
  long want_type;
  const char* want_text;
};
void selects(const SelectCase& c) {
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = msg_receive(q.id(), c.msgtyp, 16, IPC_NOWAIT | c.flags);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.type, c.want_type);
  EXPECT_EQ(r.text, c.want_text);
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 3u);
}
const SelectCase kSelect[] = {
    {{"TypeZeroTakesFirstMessage", "msgrcv(2)", "M29"}, 0, 0, 3, "a"},
    {{"PositiveTypeTakesFirstOfThatType", "msgrcv(2)", "M30"}, 2, 0, 2, "b"},
    {{"NegativeTypeTakesLowestTypeUpToAbs", "msgrcv(2)", "M31"}, -3, 0, 2, "b"},
    {{"MsgExceptTakesFirstOfAnotherType", "msgrcv(2)", "M32"}, 3, MSG_EXCEPT, 2, "b"},
};

// msgrcv(2) with IPC_NOWAIT fails:
//   - a NULL msgp with EFAULT (when there is a message to copy out);
//   - a msgsz below 0 with EINVAL;
//   - a message longer than msgsz, without MSG_NOERROR, with E2BIG, and it stays on the queue.
struct ReceiveErrorCase {
  CaseInfo info;
  const char* queued;  // the message of type 1 on the queue (nullptr: none)
  bool null_buffer;
  size_t size;
  int err;
  bool kept;  // the message is still on the queue
};
void receive_fails(const ReceiveErrorCase& c) {
  IPCB_SYSV_MAKE(MsgQueue, q);
  if (c.queued != nullptr) {
    ASSERT_EQ(msg_send(q.id(), 1, c.queued), 0) << std::strerror(errno);
  }
  struct {
    long type;
    char text[16];
  } buf{};
  void* p = c.null_buffer ? nullptr : &buf;
  EXPECT_EQ(failed_with(::msgrcv(q.id(), p, c.size, 0, IPC_NOWAIT)), c.err);
  if (c.kept) {
    EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
  }
}
// clang-format off
const ReceiveErrorCase kReceiveErrors[] = {
  {{"ReceiveIntoNullBufferFailsEfault", "msgrcv(2)", "M19"}, "data", true, 16, EFAULT, false},
  {{"NegativeReceiveSizeFailsEinval", "msgrcv(2)", "M21"}, nullptr, false, static_cast<size_t>(-1),
   EINVAL, false},
  {{"ReceiveTooSmallFailsE2bigAndKeepsMessage", "msgrcv(2)", "M17"}, "0123456789", false, 5, E2BIG,
   true},
};
// clang-format on

// The text of message `k` on queue `q` in the stress test: 1 to 200 bytes, all derived from k.
std::string stress_text(int q, int k) {
  std::string t(static_cast<size_t>(1 + (k * 37 + q) % 200), '\0');
  for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<char>(k * 131 + i * 7 + q);
  return t;
}

// In a child: sends (or receives and checks) kStressMessages messages on queue `id`, blocking.
constexpr int kStressMessages = 200;
int stress_side(int q, int id, bool send) {
  for (int k = 0; k < kStressMessages; ++k) {
    if (send) {
      if (msg_send(id, 1 + k % 3, stress_text(q, k), 0) != 0) return child_fail(1, "msgsnd");
      continue;
    }
    Received got = msg_receive(id, 0, 256, 0);
    if (got.err != 0) return 2;
    if (got.type != 1 + k % 3 || got.text != stress_text(q, k)) return 3;
  }
  return 0;
}

}  // namespace

CONFORM_CASES("SysvMsg", kReceiveErrors, receive_fails);
CONFORM_CASES("SysvMsg", kSelect, selects);

// msgrcv(2): with IPC_NOWAIT and no message of the requested type, fails with ENOMSG (not
// EAGAIN): on an empty queue; with only type 2 queued, for type 3, for type -1 (lowest type
// <= 1) and for type -1 with MSG_EXCEPT (a negative type ignores MSG_EXCEPT). The type-2 message
// is still there.
TEST(SysvMsg, NowaitReceiveWithoutMatchFailsEnomsg) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M22");
  IPCB_SYSV_MAKE(MsgQueue, q);
  EXPECT_EQ(msg_receive(q.id(), 0, 16).err, ENOMSG);
  ASSERT_EQ(msg_send(q.id(), 2, "two"), 0) << std::strerror(errno);
  EXPECT_EQ(msg_receive(q.id(), 3, 16).err, ENOMSG);
  EXPECT_EQ(msg_receive(q.id(), -1, 16).err, ENOMSG);
  EXPECT_EQ(msg_receive(q.id(), -1, 16, IPC_NOWAIT | MSG_EXCEPT).err, ENOMSG);
  EXPECT_EQ(msg_receive(q.id(), 2, 16).text, "two");
}

// msgrcv(2): with MSG_NOERROR a longer message is truncated to msgsz and the rest is lost.
TEST(SysvMsg, MsgNoerrorTruncates) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M33");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "0123456789"), 0) << std::strerror(errno);
  Received r = msg_receive(q.id(), 0, 5, IPC_NOWAIT | MSG_NOERROR);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.text, "01234");
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 0u);
}

// msgget(2)/msgrcv(2): each call returns one whole message, with the text sent; boundaries are
// kept (an empty message too).
TEST(SysvMsg, MessageBoundariesArePreserved) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M01");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "abc"), 0);
  ASSERT_EQ(msg_send(q.id(), 1, "defgh"), 0);
  ASSERT_EQ(msg_send(q.id(), 1, ""), 0);
  EXPECT_EQ(msg_receive(q.id(), 0, 64).text, "abc");
  EXPECT_EQ(msg_receive(q.id(), 0, 64).text, "defgh");
  Received empty = msg_receive(q.id(), 0, 64);
  EXPECT_EQ(empty.err, 0);
  EXPECT_EQ(empty.text, "");
}

// msgrcv(2): messages of one type come out in the order they were sent.
TEST(SysvMsg, MessagesOfOneTypeAreFifo) {
  CONFORM_MAN("msgrcv(2)");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  EXPECT_EQ(msg_receive(q.id(), 2, 16).text, "b");
  EXPECT_EQ(msg_receive(q.id(), 2, 16).text, "d");
}

// msgrcv(2): with MSG_COPY|IPC_NOWAIT, msgtyp is a position (0-based): a copy of that
// message is read and the queue is unchanged; a position at or past the number of messages
// fails with ENOMSG.
TEST(SysvMsg, MsgCopyReadsByPositionWithoutRemoving) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M25 M26");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = msg_receive(q.id(), 2, 16, IPC_NOWAIT | MSG_COPY);
  if (r.err == ENOSYS) CONFORM_SKIP("MSG_COPY: kernel built without CONFIG_CHECKPOINT_RESTORE");
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.type, 4);
  EXPECT_EQ(r.text, "c");
  Received first = msg_receive(q.id(), 0, 16, IPC_NOWAIT | MSG_COPY);
  EXPECT_EQ(first.text, "a");
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 4u);
  EXPECT_EQ(msg_receive(q.id(), 4, 16, IPC_NOWAIT | MSG_COPY).err, ENOMSG);  // past the last
  EXPECT_EQ(msg_receive(q.id(), 0, 16).text, "a");  // the queue's order is unchanged
}

// msgrcv(2): MSG_COPY without IPC_NOWAIT, or with MSG_EXCEPT, fails with EINVAL.
TEST(SysvMsg, MsgCopyWithoutNowaitFailsEinval) {
  CONFORM_MAN("msgrcv(2)");
  CONFORM_ROWS("M23 M24");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "one"), 0);
  EXPECT_EQ(msg_receive(q.id(), 0, 16, MSG_COPY).err, EINVAL);
  EXPECT_EQ(msg_receive(q.id(), 0, 16, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT).err, EINVAL);
}

// msgsnd(2)/msgrcv(2) under load: with every free queue slot taken (a private IPC namespace
// whose msgmni allows 8 queues, all made) and msg_qbytes small so that senders block, a sender
// and a receiver per queue run at once: every message arrives, in order, its bytes intact.
TEST(SysvMsg, StressAllQueuesDeliverEveryMessage) {
  CONFORM_MAN("msgsnd(2)");
  CONFORM_ROWS("M45");
  ChildResult r = in_private_ipc_ns([] {
    auto used = sysvipc_rows(Sysv::kMsg).size();
    if (!write_ipc_sysctl("msgmni", std::to_string(used + 8))) return kSetupFailed;
    std::vector<int> ids;
    for (int id; (id = ::msgget(IPC_PRIVATE, 0600)) >= 0;) ids.push_back(id);
    if (errno != ENOSPC || ids.size() != 8) return child_fail(kSetupFailed, "filling msgmni");
    std::vector<pid_t> kids;
    for (size_t q = 0; q < ids.size(); ++q) {
      msqid_ds ds{};
      ::msgctl(ids[q], IPC_STAT, &ds);
      ds.msg_qbytes = 512;
      if (::msgctl(ids[q], IPC_SET, &ds) != 0) return kSetupFailed;
      for (bool send : {true, false}) {
        pid_t pid = ::fork();
        if (pid == 0) ::_exit(stress_side(static_cast<int>(q), ids[q], send));
        if (pid > 0) kids.push_back(pid);
      }
    }
    int failed = 0;
    for (pid_t pid : kids) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 10 + WEXITSTATUS(status);
    }
    if (kids.size() != 2 * ids.size()) return kSetupFailed;
    for (int id : ids) {
      msqid_ds ds{};
      if (::msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_qnum != 0) return 20;
    }
    return failed;
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0))
      << "11: a send failed; 12: a receive failed; 13: a message differed or came out of order; "
         "20: messages left over";
}

}  // namespace ipcb::conform
