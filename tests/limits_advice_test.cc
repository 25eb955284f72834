// The limits advice: the command that raises every limit a backend's skip reason names.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/posix_mq.h"
#include "backends/shm_channel.h"
#include "backends/sysv_msg.h"
#include "backends/unix_seqpacket.h"
#include "harness/limits/limits.h"

namespace ipcb::test {
namespace {

// The advice for every limit a backend's skip reason names, on reasons the backends write.
TEST(LimitsAdvice, EveryLimitGetsTheCommandThatRaisesIt) {
  struct Case {
    std::string reason;
    std::string command;
  };
  const std::vector<Case> cases = {
      {"segment of 50335744 bytes exceeds kernel.shmmax = 4194304",
       "sysctl -w kernel.shmmax=51380224"},
      {"message of 65568 bytes exceeds kernel.msgmax = 8192; message of 65568 bytes exceeds "
       "kernel.msgmnb = 16384",
       "sysctl -w kernel.msgmnb=65568"},
      {"two queues of 10 x 8224 bytes (83520 with kernel overhead) exceed RLIMIT_MSGQUEUE = "
       "81920 (ulimit -q)",
       "ulimit -q 83520"},
      {"message of 2000000 bytes exceeds 2 x net.core.wmem_max - 32 = 425952 (net.core.wmem_max "
       "= 212992)",
       "sysctl -w net.core.wmem_max=1000016"},
      {"segment of 50335744 bytes exceeds the free space of /dev/shm = 1048576 bytes",
       "mount -o remount,size="},
  };
  for (const auto& c : cases) {
    auto advice = limits::advice_for(c.reason);
    ASSERT_FALSE(advice.empty()) << c.reason;
    EXPECT_EQ(advice.back().command.rfind(c.command, 0), 0u) << advice.back().command;
  }
  // Reasons as the backends write them: a 64 MiB message is beyond every POSIX queue (above
  // HARD_MSGSIZEMAX) and every AF_UNIX record.
  for (auto why : {posix_mq_size_limit(64u << 20), unix_seqpacket_size_limit(64u << 20)}) {
    ASSERT_FALSE(why.empty());
    auto advice = limits::advice_for(why);
    ASSERT_FALSE(advice.empty()) << why;
    EXPECT_FALSE(advice.front().command.empty()) << why;
  }
  EXPECT_EQ(limits::advice_for(posix_mq_size_limit(64u << 20)).front().command.rfind("none", 0),
            0u);
}

}  // namespace
}  // namespace ipcb::test
