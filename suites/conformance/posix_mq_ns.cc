// POSIX message queues and IPC namespaces (ipc_namespaces(7), mq_overview(7)): a private IPC
// namespace has its own queues, names, mqueue filesystem and fs.mqueue limits.
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/posix_helpers.h"

namespace ipcb::conform {
namespace {

// The names in directory `dir` (without "." and ".."); empty if it cannot be read.
std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

// In a child that entered a private IPC and mount namespace: the host's queue `name` (one message)
// is invisible; the same name makes an independent queue here; an mqueue filesystem mounted on
// `mnt` lists only this namespace's queues, and creat(2) there makes a queue; fs.mqueue.msg_max
// changes here only.
int private_namespace_checks(const std::string& name, const std::string& mnt) {
  if (mq_open_errno(name, O_RDWR) != ENOENT) return 1;
  MqQueue own;
  own.name = name;
  own.create(4, 16);
  if (!own.ok()) return child_fail(2, "mq_open of the same name");
  if (::mq_send(own.q, "x", 1, 0) != 0 || ::mq_send(own.q, "y", 1, 0) != 0) return 3;
  if (mq_curmsgs(own.q) != 2) return 4;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return kSkipCode;
  if (::mount("ipcb-conf", mnt.c_str(), "mqueue", 0, nullptr) != 0) return kSkipCode;
  if (entries(mnt) != std::set<std::string>{name.substr(1)}) return 5;
  std::string made = unique_name();
  Fd file(::open((mnt + made).c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
  if (file.get() < 0) return child_fail(6, "creat in the mqueue filesystem");
  if (mq_open_errno(made, O_RDWR) != 0) return 7;
  SysctlGuard max("fs.mqueue.msg_max", 3);
  if (!max.ok()) return 8;
  return 0;
}

// ipc_namespaces(7), mq_overview(7): POSIX message queues belong to an IPC namespace: a child in
// a private one (CLONE_NEWIPC, through a user namespace when not root) cannot see the host's queue,
// makes an independent queue of the same name, sees only its own queues in an mqueue filesystem it
// mounts (where creat(2) makes a queue), and its fs.mqueue.msg_max is its own. The host's queue
// keeps its one message and the host's msg_max is unchanged.
TEST(PosixMq, QueuesNamesAndLimitsArePerIpcNamespace) {
  CONFORM_MAN("ipc_namespaces(7)");
  CONFORM_ROWS("Q53");
  auto host_max = read_sysctl("fs.mqueue.msg_max");
  MqQueue host;
  ASSERT_TRUE(make_queue(host, 4, 16, {"h"}));
  TempDir mnt;
  ASSERT_EQ(::chmod(mnt.path().c_str(), 0755), 0);
  std::string name = host.name, where = mnt.path();
  auto r = run_in_child([&name, &where] {
    if (!enter_private_namespaces(CLONE_NEWIPC | CLONE_NEWNS)) return kSkipCode;
    return private_namespace_checks(name, where);
  });
  SKIP_IF_CHILD_SKIPPED(r, "cannot make a private IPC and mount namespace, or mount mqueue there");
  EXPECT_CHILD_OK(r) << " (1: host queue visible; 2-4: same name not independent; 5: the mount "
                        "lists other queues; 6, 7: creat made no queue; 8: msg_max not settable)";
  EXPECT_EQ(mq_curmsgs(host.q), 1) << "the host's queue changed";
  EXPECT_EQ(read_sysctl("fs.mqueue.msg_max"), host_max) << "the host's msg_max changed";
}

}  // namespace
}  // namespace ipcb::conform
