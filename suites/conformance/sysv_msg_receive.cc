// Which message msgrcv(2) takes from a System V message queue: by type (0, > 0, < 0,
// MSG_EXCEPT), by position (MSG_COPY), whole or truncated (E2BIG, MSG_NOERROR), in order.
#include <sys/ipc.h>
#include <sys/msg.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"

namespace ipcb::conform {
namespace {

// The queue the type-selection tests read: (type, text) in send order.
void fill_sample(int id) {
  const std::pair<long, const char*> sample[] = {{3, "a"}, {2, "b"}, {4, "c"}, {2, "d"}};
  for (const auto& [type, text] : sample)
    ASSERT_EQ(msg_send(id, type, text), 0) << std::strerror(errno);
}

// msgrcv(2) with `msgtyp` and `flags` on the sample queue takes the message `want_text`.
void expect_selects(long msgtyp, int flags, long want_type, const std::string& want_text) {
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = msg_receive(q.id(), msgtyp, 16, IPC_NOWAIT | flags);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.type, want_type);
  EXPECT_EQ(r.text, want_text);
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 3u);
}

}  // namespace

// msgrcv(2): with IPC_NOWAIT and no message of the requested type, fails with ENOMSG.
TEST(SysvMsg, NowaitReceiveWithoutMatchFailsEnomsg) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  EXPECT_EQ(msg_receive(q.id(), 0, 16).err, ENOMSG);
  ASSERT_EQ(msg_send(q.id(), 5, "five"), 0) << std::strerror(errno);
  EXPECT_EQ(msg_receive(q.id(), 6, 16).err, ENOMSG);
}

// msgrcv(2): a msgsz below 0 fails with EINVAL.
TEST(SysvMsg, NegativeReceiveSizeFailsEinval) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  long buf[4] = {};
  EXPECT_EQ(failed_with(::msgrcv(q.id(), buf, static_cast<size_t>(-1), 0, IPC_NOWAIT)), EINVAL);
}

// msgrcv(2): a message longer than msgsz, without MSG_NOERROR, fails with E2BIG and stays on
// the queue.
TEST(SysvMsg, ReceiveTooSmallFailsE2bigAndKeepsMessage) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "0123456789"), 0) << std::strerror(errno);
  EXPECT_EQ(msg_receive(q.id(), 0, 5).err, E2BIG);
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
}

// msgrcv(2): with MSG_NOERROR a longer message is truncated to msgsz and the rest is lost.
TEST(SysvMsg, MsgNoerrorTruncates) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "0123456789"), 0) << std::strerror(errno);
  Received r = msg_receive(q.id(), 0, 5, IPC_NOWAIT | MSG_NOERROR);
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.text, "01234");
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 0u);
}

// msgrcv(2): each call returns one whole message; boundaries are kept.
TEST(SysvMsg, MessageBoundariesArePreserved) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "abc"), 0);
  ASSERT_EQ(msg_send(q.id(), 1, "defgh"), 0);
  ASSERT_EQ(msg_send(q.id(), 1, ""), 0);
  EXPECT_EQ(msg_receive(q.id(), 0, 64).text, "abc");
  EXPECT_EQ(msg_receive(q.id(), 0, 64).text, "defgh");
  Received empty = msg_receive(q.id(), 0, 64);
  EXPECT_EQ(empty.err, 0);
  EXPECT_EQ(empty.text, "");
}

// msgrcv(2): msgtyp 0 reads the first message in the queue.
TEST(SysvMsg, TypeZeroTakesFirstMessage) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(0, 0, 3, "a");
}

// msgrcv(2): msgtyp > 0 reads the first message of that type.
TEST(SysvMsg, PositiveTypeTakesFirstOfThatType) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(2, 0, 2, "b");
}

// msgrcv(2): msgtyp < 0 reads the first message of the lowest type <= |msgtyp|.
TEST(SysvMsg, NegativeTypeTakesLowestTypeUpToAbs) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(-3, 0, 2, "b");
}

// msgrcv(2): with MSG_EXCEPT and msgtyp > 0, reads the first message not of that type.
TEST(SysvMsg, MsgExceptTakesFirstOfAnotherType) {
  CONFORM_MAN("msgrcv(2)");
  expect_selects(3, MSG_EXCEPT, 2, "b");
}

// msgrcv(2): messages of one type come out in the order they were sent.
TEST(SysvMsg, MessagesOfOneTypeAreFifo) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  EXPECT_EQ(msg_receive(q.id(), 2, 16).text, "b");
  EXPECT_EQ(msg_receive(q.id(), 2, 16).text, "d");
}

// msgrcv(2): with MSG_COPY|IPC_NOWAIT, msgtyp is a position: a copy of that message is read
// and the queue is unchanged.
TEST(SysvMsg, MsgCopyReadsByPositionWithoutRemoving) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_NO_FATAL_FAILURE(fill_sample(q.id()));
  Received r = msg_receive(q.id(), 2, 16, IPC_NOWAIT | MSG_COPY);
  if (r.err == ENOSYS) CONFORM_SKIP("MSG_COPY: kernel built without CONFIG_CHECKPOINT_RESTORE");
  ASSERT_EQ(r.err, 0) << std::strerror(r.err);
  EXPECT_EQ(r.text, "c");
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 4u);
  EXPECT_EQ(msg_receive(q.id(), 4, 16, IPC_NOWAIT | MSG_COPY).err, ENOMSG);  // past the last
}

// msgrcv(2): MSG_COPY without IPC_NOWAIT, or with MSG_EXCEPT, fails with EINVAL.
TEST(SysvMsg, MsgCopyWithoutNowaitFailsEinval) {
  CONFORM_MAN("msgrcv(2)");
  MsgQueue q;
  ASSERT_GE(q.id(), 0) << q.error();
  ASSERT_EQ(msg_send(q.id(), 1, "one"), 0);
  EXPECT_EQ(msg_receive(q.id(), 0, 16, MSG_COPY).err, EINVAL);
  EXPECT_EQ(msg_receive(q.id(), 0, 16, IPC_NOWAIT | MSG_COPY | MSG_EXCEPT).err, EINVAL);
}

}  // namespace ipcb::conform
