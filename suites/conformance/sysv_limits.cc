// Do the System V identifier limits and the checkpoint/restore id requests behave as documented
// (shmget(2), msgget(2), semget(2), proc(5) kernel.*_next_id)? Each test runs in a child in its
// own IPC namespace: it lowers the namespace's limit to what it already holds (counted from
// /proc/sysvipc, 0 in a new namespace) plus a few, fills it and expects ENOSPC; the host's
// limits and objects are never touched, and everything goes with the namespace.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <functional>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// Creates one new object of the test's kind (IPC_PRIVATE: the namespace is the test's own);
// its id, or -1 with errno.
using Make = std::function<int()>;

// In a child's private namespace: with the limit `sysctl` set by `set_limit(used + extra)`,
// `extra` objects can be made and the next fails with ENOSPC; after one is removed
// (`remove(id)`), one can be made again.
int fill_to_enospc(Sysv kind, int extra, const std::function<bool(long long)>& set_limit,
                   const Make& make, const std::function<void(int)>& remove) {
  if (!enter_private_ipc_ns()) return kSkipCode;
  auto used = static_cast<long long>(sysvipc_rows(kind).size());
  if (!set_limit(used + extra)) return child_fail(kSetupFailed, "setting the limit");
  int last = -1;
  for (int i = 0; i < extra; ++i) {
    if ((last = make()) < 0) return child_fail(1, "below the limit");
  }
  if (failed_with(make()) != ENOSPC) return 2;
  remove(last);
  return make() >= 0 ? 0 : child_fail(3, "after one was removed");
}

// In a child's private namespace: after writing N to kernel.<name>_next_id the next object gets
// id N and the file reads -1 again; asking for N again, now in use, gives another free id.
int next_id_is_used(const std::string& name, const Make& make) {
  if (!enter_private_ipc_ns()) return kSkipCode;
  const std::string file = name + "_next_id";
  if (!read_sysctl("kernel." + file)) return kSkipCode;  // CONFIG_CHECKPOINT_RESTORE off
  constexpr int kWanted = 4242;
  if (!write_ipc_sysctl(file, std::to_string(kWanted))) return child_fail(kSetupFailed, "write");
  int first = make();
  if (first != kWanted) return 1;
  if (read_sysctl("kernel." + file) != -1) return 2;
  if (!write_ipc_sysctl(file, std::to_string(kWanted))) return child_fail(kSetupFailed, "write");
  int second = make();
  if (second < 0 || second == kWanted) return 3;
  return read_sysctl("kernel." + file) == -1 ? 0 : 4;
}

constexpr const char* kEnospcHelp =
    "1: creation below the limit failed; 2: not ENOSPC at it; "
    "3: no room after a removal";
constexpr const char* kNextIdHelp =
    "1: not the requested id; 2: next_id not reset to -1; 3: "
    "the id in use was given again, or failure; 4: not reset";
constexpr const char* kNoNextId =
    "no kernel.*_next_id (CONFIG_CHECKPOINT_RESTORE off), or no "
    "private IPC namespace could be made";

}  // namespace

// shmget(2): with SHMMNI segments in the namespace, creating another fails with ENOSPC.
TEST(SysvShm, CreateBeyondShmmniFailsEnospc) {
  CONFORM_MAN("shmget(2)");
  CONFORM_ROWS("S09");
  ChildResult r = run_in_child([] {
    return fill_to_enospc(
        Sysv::kShm, 4, [](long long n) { return write_ipc_sysctl("shmmni", std::to_string(n)); },
        [] { return ::shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600); },
        [](int id) { ::shmctl(id, IPC_RMID, nullptr); });
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0)) << kEnospcHelp;
}

// msgget(2): with MSGMNI queues in the namespace (msgmni set to those in use + 32), creating
// another fails with ENOSPC.
TEST(SysvMsg, CreateBeyondMsgmniFailsEnospc) {
  CONFORM_MAN("msgget(2)");
  CONFORM_ROWS("M05");
  ChildResult r = run_in_child([] {
    return fill_to_enospc(
        Sysv::kMsg, 32, [](long long n) { return write_ipc_sysctl("msgmni", std::to_string(n)); },
        [] { return ::msgget(IPC_PRIVATE, IPC_CREAT | 0600); },
        [](int id) { ::msgctl(id, IPC_RMID, nullptr); });
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0)) << kEnospcHelp;
}

// semget(2): with SEMMNI sets in the namespace (kernel.sem's fourth field), creating another
// fails with ENOSPC.
TEST(SysvSem, CreateBeyondSemmniFailsEnospc) {
  CONFORM_MAN("semget(2)");
  CONFORM_ROWS("E07");
  ChildResult r = run_in_child([] {
    return fill_to_enospc(
        Sysv::kSem, 4,
        [](long long n) {
          auto sem = kernel_sem();
          return write_ipc_sysctl("sem", std::to_string(sem[0]) + " " + std::to_string(sem[1]) +
                                             " " + std::to_string(sem[2]) + " " +
                                             std::to_string(n)) &&
                 kernel_sem()[3] == n;
        },
        [] { return ::semget(IPC_PRIVATE, 1, IPC_CREAT | 0600); },
        [](int id) { ::semctl(id, 0, IPC_RMID); });
  });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0)) << kEnospcHelp;
}

// proc(5) kernel.shm_next_id: the next segment gets the id written there, which then reads -1;
// an id already in use is not given again (another free id is).
TEST(SysvShm, ShmNextIdChoosesTheNewId) {
  CONFORM_MAN("proc(5)");
  CONFORM_ROWS("S10 S11");
  ChildResult r = run_in_child(
      [] { return next_id_is_used("shm", [] { return ::shmget(IPC_PRIVATE, 4096, 0600); }); });
  SKIP_IF_CHILD_SKIPPED(r, kNoNextId);
  EXPECT_EQ(r.describe(), exited_with(0)) << kNextIdHelp;
}

// proc(5) kernel.msg_next_id: the same for message queues.
TEST(SysvMsg, MsgNextIdChoosesTheNewId) {
  CONFORM_MAN("proc(5)");
  CONFORM_ROWS("M06");
  ChildResult r = run_in_child(
      [] { return next_id_is_used("msg", [] { return ::msgget(IPC_PRIVATE, 0600); }); });
  SKIP_IF_CHILD_SKIPPED(r, kNoNextId);
  EXPECT_EQ(r.describe(), exited_with(0)) << kNextIdHelp;
}

// proc(5) kernel.sem_next_id: the same for semaphore sets.
TEST(SysvSem, SemNextIdChoosesTheNewId) {
  CONFORM_MAN("proc(5)");
  ChildResult r = run_in_child(
      [] { return next_id_is_used("sem", [] { return ::semget(IPC_PRIVATE, 1, 0600); }); });
  SKIP_IF_CHILD_SKIPPED(r, kNoNextId);
  EXPECT_EQ(r.describe(), exited_with(0)) << kNextIdHelp;
}

}  // namespace ipcb::conform
