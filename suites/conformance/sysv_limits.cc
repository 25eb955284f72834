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
#include <string>

#include "suites/conformance/cases.h"
#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// Creates one new object of `kind` (IPC_PRIVATE: the namespace is the test's own): a 4096-byte
// segment, a queue or a set of one semaphore. Its id, or -1 with errno.
int make_private(Sysv kind) {
  switch (kind) {
    case Sysv::kShm:
      return ::shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    case Sysv::kMsg:
      return ::msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    case Sysv::kSem:
      return ::semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  }
  return -1;
}

// Sets the namespace's limit on objects of `kind` to `n`: kernel.shmmni, kernel.msgmni, or
// kernel.sem's fourth field (SEMMNI; the others kept).
bool set_limit(Sysv kind, long long n) {
  if (kind == Sysv::kShm) return write_ipc_sysctl("shmmni", std::to_string(n));
  if (kind == Sysv::kMsg) return write_ipc_sysctl("msgmni", std::to_string(n));
  auto sem = kernel_sem();
  return write_ipc_sysctl("sem", std::to_string(sem[0]) + " " + std::to_string(sem[1]) + " " +
                                     std::to_string(sem[2]) + " " + std::to_string(n)) &&
         kernel_sem()[3] == n;
}

// shmget(2), msgget(2), semget(2): with SHMMNI segments, MSGMNI queues or SEMMNI sets in the
// namespace, creating another fails with ENOSPC. In a child's private namespace, with the limit
// set to those in use plus `extra`: `extra` objects can be made and the next fails with ENOSPC;
// after one is removed, one can be made again.
struct EnospcCase {
  CaseInfo info;
  Sysv kind;
  int extra;
};
int fill_to_enospc(Sysv kind, int extra) {
  auto used = static_cast<long long>(sysvipc_rows(kind).size());
  if (!set_limit(kind, used + extra)) return child_fail(kSetupFailed, "setting the limit");
  int last = -1;
  for (int i = 0; i < extra; ++i) {
    if ((last = make_private(kind)) < 0) return child_fail(1, "below the limit");
  }
  if (failed_with(make_private(kind)) != ENOSPC) return 2;
  remove_sysv_id(kind, last);
  return make_private(kind) >= 0 ? 0 : child_fail(3, "after one was removed");
}
void create_beyond_limit_fails_enospc(const EnospcCase& c) {
  ChildResult r = in_private_ipc_ns([&c] { return fill_to_enospc(c.kind, c.extra); });
  SKIP_IF_CHILD_SKIPPED(r, kNoPrivateIpcNs);
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: creation below the limit failed; 2: not ENOSPC at it; 3: no room after a removal";
}
const EnospcCase kEnospc[] = {
    {{"CreateBeyondShmmniFailsEnospc", "shmget(2)", "S09"}, Sysv::kShm, 4},
    {{"CreateBeyondMsgmniFailsEnospc", "msgget(2)", "M05"}, Sysv::kMsg, 32},
    {{"CreateBeyondSemmniFailsEnospc", "semget(2)", "E07"}, Sysv::kSem, 4},
};

// proc(5) kernel.shm_next_id, msg_next_id, sem_next_id: the next object gets the id written
// there, which then reads -1; an id already in use is not given again (another free id is).
// In a child's private namespace; skipped without the files (CONFIG_CHECKPOINT_RESTORE off).
struct NextIdCase {
  CaseInfo info;
  Sysv kind;
};
int next_id_is_used(Sysv kind) {
  const std::string file = std::string(kind == Sysv::kShm   ? "shm"
                                       : kind == Sysv::kMsg ? "msg"
                                                            : "sem") +
                           "_next_id";
  if (!read_sysctl("kernel." + file)) return kSkipCode;
  constexpr int kWanted = 4242;
  if (!write_ipc_sysctl(file, std::to_string(kWanted))) return child_fail(kSetupFailed, "write");
  int first = make_private(kind);
  if (first != kWanted) return 1;
  if (read_sysctl("kernel." + file) != -1) return 2;
  if (!write_ipc_sysctl(file, std::to_string(kWanted))) return child_fail(kSetupFailed, "write");
  int second = make_private(kind);
  if (second < 0 || second == kWanted) return 3;
  return read_sysctl("kernel." + file) == -1 ? 0 : 4;
}
void next_id_chooses_the_new_id(const NextIdCase& c) {
  ChildResult r = in_private_ipc_ns([&c] { return next_id_is_used(c.kind); });
  SKIP_IF_CHILD_SKIPPED(r,
                        "no kernel.*_next_id (CONFIG_CHECKPOINT_RESTORE off), or no private "
                        "IPC namespace could be made");
  EXPECT_EQ(r.describe(), exited_with(0))
      << "1: not the requested id; 2: next_id not reset to -1; 3: the id in use was given again, "
         "or failure; 4: not reset";
}
const NextIdCase kNextId[] = {
    {{"ShmNextIdChoosesTheNewId", "proc(5)", "S10 S11"}, Sysv::kShm},
    {{"MsgNextIdChoosesTheNewId", "proc(5)", "M06"}, Sysv::kMsg},
    {{"SemNextIdChoosesTheNewId", "proc(5)"}, Sysv::kSem},
};

}  // namespace

IPCB_SYSV_CASES(kEnospc, create_beyond_limit_fails_enospc);
IPCB_SYSV_CASES(kNextId, next_id_chooses_the_new_id);

}  // namespace ipcb::conform
