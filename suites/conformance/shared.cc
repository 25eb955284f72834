// Behaviours several mechanisms share, written once and instantiated per mechanism: exclusive
// create, open without create, persistence after the creator exits, would-block, timed waits,
// mode bits against another user, and removal. Each mechanism is one row of the ops table in
// shared_ops.cc.
#include <sys/stat.h>
#include <time.h>

#include <cstring>
#include <string>
#include <vector>

#include "suites/conformance/conform.h"
#include "suites/conformance/shared_ops.h"

namespace ipcb::conform {
namespace {

// The mechanisms that have the optional operation `field`.
template <class F>
std::vector<const Ops*> having(F Ops::*field) {
  std::vector<const Ops*> out;
  for (const Ops* o : all_ops()) {
    if (o->*field != nullptr) out.push_back(o);
  }
  return out;
}

std::string mechanism_name(const ::testing::TestParamInfo<const Ops*>& info) {
  return info.param->name;
}

// Names the rows this behaviour checks for the mechanism under test (shared_ops.h), if any.
void rows(const char* ids) {
  if (*ids != '\0') CONFORM_ROWS(ids);
}

// One fresh object identity per test; whatever the test made is removed on every path.
class SharedBehaviour : public ::testing::TestWithParam<const Ops*> {
 protected:
  const Ops& ops() const { return *GetParam(); }
  TempDir dir_;
  Id id_{unique_name(), unique_key(), dir_.file("obj")};
  Cleanup remove_{[this] { ops().remove(id_); }};
};

// The creation calls (shmget(2), msgget(2), semget(2), shm_open(3), mq_open(3), sem_open(3),
// mkfifo(3), open(2)): create with exclusive create on an existing name fails with EEXIST.
class ExclusiveCreate : public SharedBehaviour {};
TEST_P(ExclusiveCreate, FailsWithEexist) {
  CONFORM_MAN(ops().create_man);
  rows(ops().rows.exclusive_create);
  ASSERT_EQ(ops().create(id_, 0600), 0);
  EXPECT_EQ(ops().create(id_, 0600), EEXIST);
}

// The same pages: opening a name that does not exist, without create, fails with ENOENT.
class OpenWithoutCreate : public SharedBehaviour {};
TEST_P(OpenWithoutCreate, FailsWithEnoent) {
  CONFORM_MAN(ops().create_man);
  rows(ops().rows.open_without_create);
  EXPECT_EQ(ops().open(id_), ENOENT);
}

// sysvipc(7), shm_overview(7), mq_overview(7), sem_overview(7): the objects have kernel
// persistence; fifo(7), mmap(2): the name (and a shared file mapping's data) stay on the file
// system. All of them outlive the process that created them, contents included.
class Persistence : public SharedBehaviour {};
TEST_P(Persistence, OutlivesCreatorProcess) {
  CONFORM_MAN(ops().persist_man);
  rows(ops().rows.persistence);
  const Ops& o = ops();
  const Id& id = id_;
  ChildResult r = run_in_child([&o, &id] {
    int rc = o.create(id, 0600);
    return rc != 0 ? rc : o.put(id);
  });
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe() << " (exit code is the errno)";
  int rc = o.check(id_);
  EXPECT_EQ(rc, 0) << strerror(rc);
}

// msgrcv(2), semop(2), mq_receive(3), sem_wait(3), pipe(7): a non-blocking take from an empty
// object fails with the mechanism's "would block" errno (ENOMSG for msgrcv, else EAGAIN).
class WouldBlock : public SharedBehaviour {};
TEST_P(WouldBlock, NonblockingTakeFromEmptyFails) {
  CONFORM_MAN(ops().wait_man);
  rows(ops().rows.would_block);
  ASSERT_EQ(ops().create(id_, 0600), 0);
  EXPECT_EQ(ops().try_empty(id_), ops().would_block) << strerror(ops().would_block) << " expected";
}

// semop(2), mq_receive(3), sem_wait(3): a timed take from an empty object fails with the
// documented errno (EAGAIN for semtimedop, ETIMEDOUT otherwise) once the timeout has passed.
class TimedWait : public SharedBehaviour {};
TEST_P(TimedWait, TimesOutWithDocumentedErrno) {
  CONFORM_MAN(ops().wait_man);
  rows(ops().rows.timed_wait);
  ASSERT_EQ(ops().create(id_, 0600), 0);
  timespec start = clock_in(CLOCK_MONOTONIC, 0);
  EXPECT_EQ(ops().timed_empty(id_, 20), ops().timed_out)
      << strerror(ops().timed_out) << " expected";
  EXPECT_GE(ms_since(start), 19.0) << "returned before the timeout";
}

// The creation pages (EACCES): an object of mode 0600 cannot be opened by another user (a
// child of root dropped to nobody), while its owner can.
class Permissions : public SharedBehaviour {};
TEST_P(Permissions, Mode0600DeniesOtherUserEacces) {
  CONFORM_MAN(ops().create_man);
  rows(ops().rows.permissions);
  if (!is_root()) CONFORM_SKIP("needs root to run a child as another user (nobody)");
  ASSERT_EQ(ops().create(id_, 0600), 0);
  ASSERT_EQ(ops().open(id_), 0) << "the owner cannot open it";
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0711), 0);  // let nobody reach paths in the directory
  const Ops& o = ops();
  const Id& id = id_;
  ChildResult r = run_in_child([&o, &id] { return drop_to_nobody() ? o.open(id) : 200; });
  ASSERT_TRUE(r.exited) << r.describe();
  EXPECT_EQ(r.code, EACCES) << (r.code == 200 ? "could not drop to nobody" : strerror(r.code));
}

// shmctl(2)/msgctl(2)/semctl(2) IPC_RMID, shm_unlink(3), mq_unlink(3), sem_unlink(3),
// unlink(2): after removal the name is gone: opening it fails with ENOENT.
class Removal : public SharedBehaviour {};
TEST_P(Removal, NameUnavailableAfterRemove) {
  CONFORM_MAN(ops().remove_man);
  rows(ops().rows.removal);
  ASSERT_EQ(ops().create(id_, 0600), 0);
  ASSERT_EQ(ops().remove(id_), 0);
  EXPECT_EQ(ops().open(id_), ENOENT);
}

INSTANTIATE_TEST_SUITE_P(Shared, ExclusiveCreate, ::testing::ValuesIn(all_ops()), mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, OpenWithoutCreate, ::testing::ValuesIn(all_ops()), mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, Persistence, ::testing::ValuesIn(all_ops()), mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, WouldBlock, ::testing::ValuesIn(having(&Ops::try_empty)),
                         mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, TimedWait, ::testing::ValuesIn(having(&Ops::timed_empty)),
                         mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, Permissions, ::testing::ValuesIn(all_ops()), mechanism_name);
INSTANTIATE_TEST_SUITE_P(Shared, Removal, ::testing::ValuesIn(all_ops()), mechanism_name);

}  // namespace
}  // namespace ipcb::conform
