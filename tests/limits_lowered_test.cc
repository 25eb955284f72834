// `ipcbench limits` with lowered limits: a lowered sysctl is found exactly and skips a run naming
// it with the command that raises it, a small /dev/shm is never filled, and probes stay within
// their caps. Each test restores what it changed on every path (SysctlGuard).
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include "backends/posix_mq.h"
#include "backends/shm_channel.h"
#include "backends/unix_seqpacket.h"
#include "harness/limits/limits.h"
#include "tests/limits_fixture.h"

namespace ipcb::test {
namespace {

TEST_F(LimitsTest, LoweredShmmaxIsFoundExactlyAndSkipsTheRunNamingIt) {
  if (!is_root()) GTEST_SKIP() << "needs root to change kernel.shmmax";
  SysctlGuard guard("kernel.shmmax", "4194304");
  ASSERT_TRUE(guard.ok());
  for (bool nobody : {false, true}) {
    SCOPED_TRACE(nobody ? "nobody" : "root");
    json j = limits(nobody);
    EXPECT_EQ(probed(j, "probed.sysv_shm.max_segment_bytes"), 4194304u);
    EXPECT_EQ(j["probes"]["probed.sysv_shm.max_segment_bytes"]["limit"], "kernel.shmmax");
    EXPECT_EQ(j["probes"]["probed.sysv_shm.max_segment_bytes"]["bound"], "shmget: EINVAL");
  }
  Ran r = run_child({"run", "--backend", "sysv_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,8M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  EXPECT_NE(r.out.find("skipped pingpong/sysv_shm/spin/8388608: segment of "), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("exceeds kernel.shmmax = 4194304"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("To raise it: sysctl -w kernel.shmmax="), std::string::npos) << r.out;
  json bench = json::parse(read_file(out_ + "/bench.json"));
  EXPECT_EQ(bench["context"]["limits"]["kernel.shmmax"], 4194304);
  ASSERT_EQ(bench["context"]["ipcbench_skipped"].size(), 1u);
  EXPECT_NE(
      bench["context"]["ipcbench_skipped"][0]["reason"].get<std::string>().find("kernel.shmmax"),
      std::string::npos);
  EXPECT_EQ(bench["benchmarks"].size(), 1u) << "the 64-byte run goes ahead";
}

TEST_F(LimitsTest, LoweredMsgsizeMaxIsFoundExactlyByAnUnprivilegedProbe) {
  if (!is_root()) GTEST_SKIP() << "needs root to change fs.mqueue.msgsize_max";
  SysctlGuard guard("fs.mqueue.msgsize_max", "5000");
  ASSERT_TRUE(guard.ok());
  json j = limits(/*nobody=*/true);
  EXPECT_EQ(probed(j, "probed.posix_mq.max_msgsize"), 5000u);
  EXPECT_EQ(j["probes"]["probed.posix_mq.max_msgsize"]["limit"], "fs.mqueue.msgsize_max");
  EXPECT_TRUE(j["probes"]["probed.posix_mq.max_msgsize"]["agrees"].get<bool>());
}

// shmall counts the pages of every segment: with one held, shmall stops a segment that the
// configured values alone would allow. The run's skip names the real limit, not shmmax.
TEST_F(LimitsTest, SegmentsInUseMakeShmallTheLimitARunIsSkippedBy) {
  if (!is_root()) GTEST_SKIP() << "needs root to change kernel.shmall";
  const uint64_t page = ::sysconf(_SC_PAGESIZE);
  ChannelConfig big;
  big.message_bytes = 32 + (1u << 20);  // the 1M run's segment
  const uint64_t seg_pages = (shm_channel_bytes(big) + page - 1) / page;
  // shmall lets the segment in by itself (the configured check passes), not next to ours.
  const uint64_t held_pages = 32;
  SysctlGuard guard("kernel.shmall",
                    std::to_string(limits::sysv_shm_pages_in_use() + seg_pages + 16));
  ASSERT_TRUE(guard.ok());
  key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
  int id = ::shmget(key, held_pages * page, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(id, 0) << std::strerror(errno);
  struct Remove {
    int id;
    ~Remove() { ::shmctl(id, IPC_RMID, nullptr); }
  } remove{id};
  Ran r = run_child({"run", "--backend", "sysv_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,1M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  json bench = json::parse(read_file(out_ + "/bench.json"));
  ASSERT_EQ(bench["context"]["ipcbench_skipped"].size(), 1u) << r.out;
  std::string reason = bench["context"]["ipcbench_skipped"][0]["reason"];
  EXPECT_NE(reason.find("exceeds kernel.shmall"), std::string::npos) << reason;
  EXPECT_NE(reason.find("probed.sysv_shm.max_segment_bytes = " +
                        std::to_string((seg_pages + 16 - held_pages) * page)),
            std::string::npos)
      << reason;
  EXPECT_NE(r.out.find("To raise it: sysctl -w kernel.shmall="), std::string::npos) << r.out;
}

// In a private mount namespace, a small /dev/shm: the probe stops at 3/4 of its free space, and
// a run's segment that does not fit is skipped naming /dev/shm with the remount command.
TEST_F(LimitsTest, SmallDevShmIsNeverFilledAndNamedInTheSkip) {
  if (!is_root()) GTEST_SKIP() << "needs root to mount a tmpfs";
  auto small_shm = [] {
    return ::unshare(CLONE_NEWNS) == 0 &&
           ::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
           ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=8m,mode=1777") == 0;
  };
  json j = parse(run_child({"limits", "--json"}, env(), false, 20, small_shm));
  EXPECT_EQ(j["/dev/shm"]["size_bytes"], 8u << 20);
  EXPECT_EQ(probed(j, "probed.posix_shm.max_bytes"), 6u << 20);
  EXPECT_TRUE(j["probes"]["probed.posix_shm.max_bytes"]["capped"].get<bool>());
  EXPECT_NE(j["probes"]["probed.posix_shm.max_bytes"]["cap"].get<std::string>().find("/dev/shm"),
            std::string::npos);
  Ran r = run_child({"run", "--backend", "posix_shm", "--sync", "spin", "--workload", "pingpong",
                     "--size", "64,4M", "--min-time", "0.01", "--out", out_},
                    env(), false, 120, small_shm);
  ASSERT_TRUE(r.exited_ok()) << r.out << r.err;
  EXPECT_NE(r.out.find("exceeds the free space of /dev/shm"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("To raise it: mount -o remount,size="), std::string::npos) << r.out;
}

TEST_F(LimitsTest, ProbesStayWithinTheMemoryCapAndTheTimeLimit) {
  Ran r = run_child({"limits", "--json", "--max-probe-bytes", "1M"}, env(), false, 20);
  json j = parse(r);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(j["probe"]["max_probe_bytes"], 1u << 20);
  EXPECT_LE(probed(j, "probed.posix_shm.max_bytes"), 1u << 20);
  EXPECT_LE(probed(j, "probed.sysv_msg.max_message_bytes"), 1u << 20);
  Ran bad = run_child({"limits", "--max-probe-bytes", "lots"}, env(), false, 20);
  EXPECT_TRUE(WIFEXITED(bad.status) && WEXITSTATUS(bad.status) == 2) << bad.status;
  EXPECT_NE(bad.err.find("--max-probe-bytes"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace ipcb::test
