// The manifest's kinds for the conformance tests: a dead owner's POSIX name (shm, queue and
// semaphore), SysV key (every kind under it) and private folder are removed by clean; a saved
// sysctl is written back by clean and by the signal handlers, oldest record last, only in the
// IPC namespace it was changed in; a record naming anything else is never acted on.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mqueue.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/sys/manifest.h"
#include "harness/sys/sys.h"

namespace ipcb {
namespace {
namespace fs = std::filesystem;
using manifest::Kind;

class ManifestConform : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ipcbench-manifest-conform-" + sys::random_hex(6));
    fs::create_directory(dir_);
    fs::permissions(dir_, fs::perms::owner_all);
    setenv("IPCBENCH_MANIFEST_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("IPCBENCH_MANIFEST_DIR");
    fs::remove_all(dir_);
  }
  // Runs `fn` in a child; its exit code.
  static int in_child(const std::function<int()>& fn) {
    pid_t pid = fork();
    if (pid == 0) _exit(fn());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Runs `fn` in a child inside a new IPC namespace (10 if none can be made), given the
  // namespace's kernel.msgmni as it was at the start; its exit code.
  static int in_ipc_namespace(const std::function<int(const std::string& original)>& fn);
  fs::path dir_;
};

std::string read_sysctl(const char* path) {
  std::ifstream f(path);
  std::string v;
  std::getline(f, v);
  return v;
}

// The sysctl the tests change (inside their own IPC namespace).
const char* const kMsgmni = "/proc/sys/kernel/msgmni";

int ManifestConform::in_ipc_namespace(const std::function<int(const std::string&)>& fn) {
  return in_child([&] {
    if (unshare(CLONE_NEWIPC) != 0) return 10;
    return fn(read_sysctl(kMsgmni));
  });
}

bool write_sysctl(const char* path, const std::string& v) {
  std::ofstream f(path);
  return static_cast<bool>(f << v << "\n") && static_cast<bool>(f.flush());
}

std::string ipc_ns() {
  return fs::read_symlink("/proc/self/ns/ipc").string();
}

TEST_F(ManifestConform, DeadOwnersNamesKeysAndFoldersAreRemoved) {
  const std::string shm = "/ipcb-conf-" + sys::random_hex(8),
                    mq = "/ipcb-conf-" + sys::random_hex(8),
                    sem = "/ipcb-conf-" + sys::random_hex(8);
  const key_t key = static_cast<key_t>(sys::random_u32() & 0x7ffffff0) + 1;
  std::string folder = (fs::temp_directory_path() / "ipcb-conf-XXXXXX").string();
  ASSERT_NE(mkdtemp(folder.data()), nullptr);
  fs::create_directory(folder + "/sub");
  std::ofstream(folder + "/sub/file") << "x";
  ASSERT_EQ(in_child([&] {
              for (const auto& n : {shm, mq, sem}) {
                if (!manifest::record(Kind::kPosixName, n)) return 1;
              }
              if (!manifest::record(Kind::kSysvKey, std::to_string(key)) ||
                  !manifest::record(Kind::kDir, folder))
                return 2;
              mq_attr a{};
              a.mq_maxmsg = 1;
              a.mq_msgsize = 1;
              if (shm_open(shm.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600) < 0 ||
                  mq_open(mq.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &a) == (mqd_t)-1 ||
                  sem_open(sem.c_str(), O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED ||
                  msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0 ||
                  semget(key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0)
                return 3;
              return 0;  // dies without releasing: as after SIGKILL
            }),
            0);
  auto r = manifest::clean(false);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->removed.size(), 5u);
  EXPECT_TRUE(r->failed.empty());
  EXPECT_FALSE(fs::exists("/dev/shm" + shm));
  EXPECT_EQ(mq_open(mq.c_str(), O_RDONLY), (mqd_t)-1);
  EXPECT_FALSE(fs::exists("/dev/shm/sem." + sem.substr(1)));
  EXPECT_EQ(msgget(key, 0), -1);
  EXPECT_EQ(semget(key, 0, 0), -1);
  EXPECT_FALSE(fs::exists(folder));
  EXPECT_TRUE(fs::is_empty(dir_)) << "records left";
}

TEST_F(ManifestConform, RecordsOfOtherObjectsAreNeverActedOn) {
  const std::string victim = (dir_.parent_path() / ("ipcb-victim-" + sys::random_hex(4))).string();
  std::ofstream(victim) << "keep";
  // Records a dead owner could have left, naming what no conformance test makes.
  const std::vector<std::string> records = {"sysctl /etc/passwd - 1",
                                            "sysctl /proc/sys/kernel/../../etc/x - 1",
                                            "sysctl /proc/sys/kernel/msgmni - rm -rf",
                                            "dir " + victim,
                                            "dir /tmp/ipcb-conf-../x",
                                            "posix_name /ipcbench-notours",
                                            "sysv_key 0"};
  for (size_t i = 0; i < records.size(); ++i)
    std::ofstream(dir_ / ("99999999-tdead-" + std::to_string(i))) << records[i] << "\n";
  auto r = manifest::clean(false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->removed.empty());
  EXPECT_EQ(r->unreadable.size(), records.size());
  EXPECT_TRUE(fs::exists(victim));
  fs::remove(victim);
}

// Inside a private IPC namespace (nothing outside changes): a dead owner's two records of one
// sysctl leave the older (original) value; a record of another namespace is dropped.
TEST_F(ManifestConform, CleanRestoresSysctlsOfItsOwnNamespaceOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change kernel.msgmni in a namespace";
  EXPECT_EQ(in_ipc_namespace([&](const std::string& original) {
              int rc = in_child([&] {
                auto a = manifest::record(Kind::kSysctl, kMsgmni, ipc_ns() + " " + original);
                if (!a || !write_sysctl(kMsgmni, "101")) return 1;
                auto b = manifest::record(Kind::kSysctl, kMsgmni, ipc_ns() + " 101");
                auto c = manifest::record(Kind::kSysctl, kMsgmni, "ipc:[1] 55");
                return b && c && write_sysctl(kMsgmni, "102") ? 0 : 2;
              });
              if (rc != 0) return 20 + rc;
              auto r = manifest::clean(false);
              if (!r || r->removed.size() != 2 || r->dropped.size() != 1) return 30;
              return read_sysctl(kMsgmni) == original ? 0 : 40;
            }),
            0);
  EXPECT_TRUE(fs::is_empty(dir_));
}

// The signal handlers write a saved value back before the process dies of the signal.
TEST_F(ManifestConform, TerminatingSignalRestoresSysctl) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to change kernel.msgmni in a namespace";
  EXPECT_EQ(in_ipc_namespace([&](const std::string& original) {
              int rc = in_child([&] {
                manifest::adopt_after_fork(false);
                if (!manifest::record(Kind::kSysctl, kMsgmni, ipc_ns() + " " + original) ||
                    !write_sysctl(kMsgmni, "103"))
                  return 1;
                raise(SIGTERM);
                return 2;
              });
              if (rc != 128 + SIGTERM) return 20;
              return read_sysctl(kMsgmni) == original ? 0 : 30;
            }),
            0);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace ipcb
