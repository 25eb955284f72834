// `ipcbench clean` must be safe: from another PID namespace it must not take a live run for a
// dead one; a record it cannot act on (an object of another user, a garbage record) must not
// stop it from removing the others, must be reported, and must not wedge the next clean; and a
// record naming something ipcbench never makes (an arbitrary file) must not make it delete that.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/sys/sys.h"
#include "tests/fault_proc.h"
#include "tests/fault_util.h"
#include "tests/process_util.h"

namespace ipcb::test::fault {
namespace {
namespace fs = std::filesystem;

using FaultClean = FaultTest;

// A Spawn::prepare that runs the process as pid 1 of a new PID namespace (the intermediate
// child waits for it and exits with its status); with `own_proc`, in a new mount namespace
// with a /proc of its own, as a container would have.
std::function<bool()> in_new_pid_namespace(bool own_proc) {
  return [own_proc] {
    if (::unshare(CLONE_NEWPID | (own_proc ? CLONE_NEWNS : 0)) != 0) return false;
    pid_t c = ::fork();
    if (c < 0) return false;
    if (c > 0) {
      int st = 0;
      ::waitpid(c, &st, 0);
      _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
    return !own_proc || (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                         ::mount("proc", "/proc", "proc", 0, nullptr) == 0);
  };
}

class FaultCleanPidNs : public FaultTest, public ::testing::WithParamInterface<bool> {};

TEST_P(FaultCleanPidNs, SparesALiveRun) {
  {
    const bool own_proc = GetParam();
    const std::string what = std::string("clean in a new PID namespace") +
                             (own_proc ? " with its own /proc" : " (the machine's /proc)") +
                             " during a live sysv_msg run";
    Sandbox box("clean-pidns");
    Bench live(box, run_args(box, "sysv_msg", "block", "pingpong", 2));
    if (steady_peer(live.pid(), 0.3, 15) <= 0) {
      FAIL() << what << ": no steady peer (" << live.wait(0).describe() << ")";
    }
    Spawn ns;
    ns.prepare = in_new_pid_namespace(own_proc);
    Bench clean(box, {"clean"}, ns);
    const Ended& c = clean.wait(10);
    const Ended& e = live.wait(30);
    EXPECT_EQ(c.exit_code(), 0) << what << ": clean " << c.describe() << ": " << c.text();
    EXPECT_EQ(e.exit_code(), 0) << what << ": the live run " << e.describe()
                                << "; clean said: " << c.out << "\n"
                                << e.err.substr(e.err.size() > 600 ? e.err.size() - 600 : 0);
    EXPECT_TRUE(box.leftovers().empty()) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Proc, FaultCleanPidNs, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "OwnProc" : "MachineProc"; });

// Objects the test makes by hand for clean to find, removed on every path.
struct HandMade {
  std::vector<std::string> shm;  // /dev/shm names
  std::vector<int> queues;
  std::string dir;
  ~HandMade() {
    for (const auto& n : shm) ::unlink(("/dev/shm" + n).c_str());
    for (int q : queues) ::msgctl(q, IPC_RMID, nullptr);
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

pid_t dead_pid() {
  pid_t p = ::fork();
  if (p == 0) _exit(0);
  ::waitpid(p, nullptr, 0);
  return p;
}

void write_record(const std::string& dir, pid_t owner, int seq, const std::string& text,
                  uid_t uid) {
  const std::string path = dir + "/" + std::to_string(owner) + "-1-" + std::to_string(seq);
  std::ofstream(path) << text << "\n";
  ::chmod(path.c_str(), 0600);
  ::chown(path.c_str(), uid, uid);
}

// A /dev/shm object named as ipcbench names them, owned by `uid`.
std::string make_shm(HandMade& made, pid_t owner, uid_t uid) {
  std::string name = "/ipcbench-" + std::to_string(owner) + "-" + sys::random_hex(16);
  int fd = ::open(("/dev/shm" + name).c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  EXPECT_GE(fd, 0);
  if (fd >= 0) {
    EXPECT_EQ(::fchown(fd, uid, uid), 0);
    ::close(fd);
  }
  made.shm.push_back(name);
  return name;
}

// As nobody, with a manifest on tmpfs (which lists the newest entry first, so the bad records,
// written last, are met first): two records clean cannot act on (a root-owned segment in the
// sticky /dev/shm, a garbage record), after records of a dead owner (three segments and a
// queue of nobody's). Clean must remove all of those, name the bad ones, and exit non-zero; a
// second clean must still remove a record added since.
TEST_F(FaultClean, BadRecordsDoNotStopTheOthers) {
  HandMade made;
  made.dir = "/dev/shm/ipcbench-fault-clean-" + sys::random_hex(6);
  ASSERT_EQ(::mkdir(made.dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(made.dir.c_str(), kNobody, kNobody), 0);
  const pid_t dead = dead_pid();
  int seq = 0;
  std::vector<std::string> good;
  for (int i = 0; i < 3; ++i) {
    good.push_back(make_shm(made, dead, kNobody));
    write_record(made.dir, dead, seq++, "posix_shm " + good.back(), kNobody);
  }
  key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
  int q = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(q, 0);
  made.queues.push_back(q);
  msqid_ds ds{};
  ASSERT_EQ(::msgctl(q, IPC_STAT, &ds), 0);
  ds.msg_perm.uid = kNobody;
  ASSERT_EQ(::msgctl(q, IPC_SET, &ds), 0);
  write_record(made.dir, dead, seq++, "sysv_msg " + std::to_string(key), kNobody);
  const std::string foreign = make_shm(made, dead, 0);  // root's: nobody cannot unlink it
  write_record(made.dir, dead, seq++, "posix_shm " + foreign, kNobody);
  const std::string garbage = std::to_string(dead) + "-1-" + std::to_string(seq);
  write_record(made.dir, dead, seq++, "this is not a record", kNobody);

  Sandbox box("clean-bad");
  Spawn as;
  as.prepare = as_user(kNobody);
  as.env = {"IPCBENCH_MANIFEST_DIR=" + made.dir};
  Bench first(box, {"clean"}, as);
  const Ended& e = first.wait(10);
  const std::string log = "\nclean: " + e.describe() + "\n" + e.text();
  EXPECT_GT(e.exit_code(), 0) << "a record clean could not act on went unreported" << log;
  EXPECT_NE(e.text().find(foreign.substr(1)), std::string::npos)
      << "the object clean could not remove is not named" << log;
  EXPECT_NE(e.text().find(garbage), std::string::npos) << "the garbage record is not named" << log;
  auto kept = [&] {
    std::string k;
    for (const auto& g : good) k += fs::exists("/dev/shm" + g) ? " " + g : "";
    if (::msgctl(q, IPC_STAT, &ds) == 0) k += " sysv_msg " + std::to_string(key);
    return k;
  };
  EXPECT_EQ(kept(), "") << "objects of a dead owner were not removed" << log;

  // The next clean, with one more record since: everything of the dead owner must go now.
  good.push_back(make_shm(made, dead, kNobody));
  write_record(made.dir, dead, seq++, "posix_shm " + good.back(), kNobody);
  Bench second(box, {"clean"}, as);
  const Ended& e2 = second.wait(10);
  EXPECT_FALSE(e2.timed_out || is_crash_signal(e2.signal())) << e2.describe();
  EXPECT_EQ(kept(), "") << "a second clean is wedged by the bad records\nclean: " << e2.describe()
                        << "\n"
                        << e2.text();
}

// A record is text anyone who can write the folder controls: clean must only remove objects
// named as ipcbench names them, never an arbitrary file a record points at.
TEST_F(FaultClean, RecordNamingAForeignFileIsNotFollowed) {
  Sandbox box("clean-foreign");
  const std::string victim = box.root() + "/precious.txt";
  std::ofstream(victim) << "not an ipcbench object\n";
  write_record(box.manifest(), dead_pid(), 0, "file " + victim, 0);
  Bench clean(box, {"clean"});
  const Ended& e = clean.wait(10);
  EXPECT_TRUE(fs::exists(victim)) << "clean deleted a file that is no ipcbench object: "
                                  << e.describe() << "\n"
                                  << e.text();
  EXPECT_FALSE(is_crash_signal(e.signal()));
}

}  // namespace
}  // namespace ipcb::test::fault
