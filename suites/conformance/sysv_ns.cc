// Are System V objects and limits per IPC namespace as documented (namespaces(7),
// ipc_namespaces(7))? An object of the test's namespace is visible from a plain fork but not
// from a child in a new IPC namespace, which may make its own under the same key; what a child
// makes in its namespace is invisible outside; the kernel.shm*/msg*/sem limits are the
// namespace's own.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <string>

#include "suites/conformance/conform.h"
#include "suites/conformance/objects.h"
#include "suites/conformance/sysv_support.h"

namespace ipcb::conform {
namespace {

// Runs `fn(n)` for n = 1 and 2 in two children, each in a new IPC namespace of its own, at the
// same time: each calls rv.ready() once its object is made and rv.go_wait() before its last
// checks; meanwhile the test runs `between()` (after both are ready). Expects both to exit 0.
template <class F, class G>
void in_two_namespaces(F fn, G between) {
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  Rendezvous* r = rv.get();
  auto start = [&](int n) {
    return in_child_async([fn, r, n] { return enter_private_ipc_ns() ? fn(n, *r) : kSkipCode; });
  };
  auto one = start(1);
  auto two = start(2);
  bool ready = rv->wait_for(2);
  if (ready) between();
  rv->go();
  ChildResult a = one.get(), b = two.get();
  if ((a.exited && a.code == kSkipCode) || (b.exited && b.code == kSkipCode)) {
    GTEST_SKIP() << kNoPrivateIpcNs;
  }
  EXPECT_TRUE(ready) << "the children did not both get ready";
  EXPECT_EQ(a.describe(), exited_with(0));
  EXPECT_EQ(b.describe(), exited_with(0));
}

}  // namespace

// shmget(2)/ipc_namespaces(7): a plain forked child finds the test's segment by key and reads
// its data; a child in a new IPC namespace does not (ENOENT) and creates its own segment under
// the same key. Two such children get separate segments, what they make is invisible to the
// test, and the test's segment keeps its data and its single attach.
TEST(SysvShm, IpcNamespaceHasItsOwnSegments) {
  CONFORM_MAN("ipc_namespaces(7)");
  CONFORM_ROWS("S49");
  IPCB_SHM_ATTACHED(seg, a, page_size());
  std::strcpy(a.data(), "host");
  ChildResult plain = run_in_child([&seg] {
    int id = ::shmget(seg.key(), 0, 0);
    void* p = id == seg.id() ? ::shmat(id, nullptr, SHM_RDONLY) : kShmatFailed;
    return p != kShmatFailed && std::strcmp(static_cast<char*>(p), "host") == 0 ? 0 : 1;
  });
  EXPECT_EQ(plain.describe(), exited_with(0)) << "a plain fork does not see the segment";
  key_t only_there = unique_key();
  Cleanup sweep = sweep_key(Sysv::kShm, only_there);
  in_two_namespaces(
      [&seg, only_there](int n, Rendezvous& rv) {
        if (failed_with(::shmget(seg.key(), 0, 0)) != ENOENT) return 1;
        int id = ::shmget(seg.key(), page_size(), IPC_CREAT | IPC_EXCL | 0600);
        void* p = id < 0 ? kShmatFailed : ::shmat(id, nullptr, 0);
        if (p == kShmatFailed || ::shmget(only_there, page_size(), IPC_CREAT | 0600) < 0) return 2;
        static_cast<char*>(p)[0] = static_cast<char>('0' + n);
        rv.ready();
        if (!rv.go_wait()) return 3;
        shmid_ds ds{};
        if (::shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != 1) return 4;
        return static_cast<char*>(p)[0] == '0' + n ? 0 : 5;  // the namespace dies with us
      },
      [&] {
        EXPECT_EQ(failed_with(::shmget(only_there, 0, 0)), ENOENT) << "a namespace's segment";
        EXPECT_EQ(::shmget(seg.key(), 0, 0), seg.id());
      });
  EXPECT_STREQ(a.data(), "host");
  EXPECT_EQ(shm_stat(seg.id()).shm_nattch, 1u);
}

// msgget(2)/ipc_namespaces(7): a child in a new IPC namespace does not see the test's queue
// (ENOENT) and makes its own under the same key; the two children's queues and the test's are
// independent: each receives exactly its own message, the test's message stays.
TEST(SysvMsg, IpcNamespaceHasItsOwnQueues) {
  CONFORM_MAN("ipc_namespaces(7)");
  CONFORM_ROWS("M46");
  IPCB_SYSV_MAKE(MsgQueue, q);
  ASSERT_EQ(msg_send(q.id(), 1, "host"), 0) << std::strerror(errno);
  key_t only_there = unique_key();
  Cleanup sweep = sweep_key(Sysv::kMsg, only_there);
  in_two_namespaces(
      [&q, only_there](int n, Rendezvous& rv) {
        if (failed_with(::msgget(q.key(), 0)) != ENOENT) return 1;
        int id = ::msgget(q.key(), IPC_CREAT | IPC_EXCL | 0600);
        if (id < 0 || msg_send(id, n, "ns" + std::to_string(n)) != 0) return 2;
        if (::msgget(only_there, IPC_CREAT | 0600) < 0) return 2;
        rv.ready();
        if (!rv.go_wait()) return 3;
        Received got = msg_receive(id, 0, 16);
        if (got.err != 0 || got.type != n || got.text != "ns" + std::to_string(n)) return 4;
        return msg_receive(id, 0, 16).err == ENOMSG ? 0 : 5;
      },
      [&] { EXPECT_EQ(failed_with(::msgget(only_there, 0)), ENOENT) << "a namespace's queue"; });
  EXPECT_EQ(msg_stat(q.id()).msg_qnum, 1u);
  EXPECT_EQ(msg_receive(q.id(), 0, 16).text, "host");
}

// semget(2)/ipc_namespaces(7): sets under the same key in different IPC namespaces are
// independent: while one child holds its set's lock (value 0) and the test's set is at 0, the
// other child takes its own lock at once.
TEST(SysvSem, IpcNamespaceHasItsOwnSets) {
  CONFORM_MAN("ipc_namespaces(7)");
  CONFORM_ROWS("E37");
  IPCB_SYSV_MAKE(SemSet, s, 1);  // value 0: locked
  key_t only_there = unique_key();
  Cleanup sweep = sweep_key(Sysv::kSem, only_there);
  in_two_namespaces(
      [&s, only_there](int n, Rendezvous& rv) {
        if (failed_with(::semget(s.key(), 0, 0)) != ENOENT) return 1;
        int id = ::semget(s.key(), 1, IPC_CREAT | IPC_EXCL | 0600);
        if (id < 0 || semctl_setval(id, 0, 1) != 0) return 2;
        if (::semget(only_there, 1, IPC_CREAT | 0600) < 0) return 2;
        if (n == 1 && semop_one(id, 0, -1) != 0) return 3;  // holds its lock from here
        rv.ready();
        if (!rv.go_wait()) return 4;
        if (n == 2 && semop_one(id, 0, -1) != 0) return 5;  // not blocked by the other's
        return semctl_get(id, 0) == 0 ? 0 : 6;
      },
      [&] {
        EXPECT_EQ(failed_with(::semget(only_there, 0, 0)), ENOENT) << "a namespace's set";
        EXPECT_EQ(failed_with(semop_one(s.id(), 0, -1)), EAGAIN) << "the test's set changed";
      });
  EXPECT_EQ(semctl_get(s.id(), 0), 0);
}

// ipc_namespaces(7): the kernel.shm*, kernel.msg* and kernel.sem limits belong to the IPC
// namespace: a child writing its namespace's values leaves the test's namespace unchanged.
TEST(SysvShm, IpcNamespaceHasItsOwnLimits) {
  CONFORM_MAN("ipc_namespaces(7)");
  const char* names[] = {"kernel.shmmni", "kernel.msgmni", "kernel.msgmnb"};
  long long before[3];
  for (int i = 0; i < 3; ++i) {
    auto v = read_sysctl(names[i]);
    if (!v) CONFORM_SKIP(std::string(names[i]) + " is not readable");
    before[i] = *v;
  }
  auto sem_before = kernel_sem();
  SharedMemory<Rendezvous> rv;
  ASSERT_TRUE(rv.ok());
  Rendezvous* r = rv.get();
  auto child = in_child_async([r] {
    if (!enter_private_ipc_ns()) return kSkipCode;
    for (const char* name : {"shmmni", "msgmni", "msgmnb"}) {
      if (!write_ipc_sysctl(name, "17")) return 1;
    }
    if (!write_ipc_sysctl("sem", "17 170 17 17")) return 1;
    if (read_sysctl("kernel.shmmni") != 17 || kernel_sem()[3] != 17) return 2;
    r->ready();
    return r->go_wait() ? 0 : 3;
  });
  bool ready = rv->wait_for(1);
  if (ready) {
    for (int i = 0; i < 3; ++i) EXPECT_EQ(read_sysctl(names[i]), before[i]) << names[i];
    EXPECT_EQ(kernel_sem(), sem_before);
  }
  rv->go();
  ChildResult c = child.get();
  SKIP_IF_CHILD_SKIPPED(c, kNoPrivateIpcNs);
  EXPECT_TRUE(ready);
  EXPECT_EQ(c.describe(), exited_with(0)) << "1: cannot write; 2: the write did not hold";
}

}  // namespace ipcb::conform
