// The preflight table and its run (see preflight.h).
#include "suites/bench/preflight.h"

#include <map>
#include <set>
#include <sstream>

#include "harness/sys/sys.h"
#include "suites/conformance/runner.h"

namespace ipcb {
namespace {

// What each backend's numbers rely on: the data path (whole, in order, seen by the other
// process), end of file and would-block; and what each waiter's wake-ups rely on.
const std::map<std::string, std::vector<std::string>>& table() {
  static const std::map<std::string, std::vector<std::string>> kTests = {
      // backends
      {"sysv_shm",
       {"SysvShm.NewSegmentIsZeroFilled", "SysvShm.SameSegmentAttachedTwiceSharesData",
        "SysvShm.IpcRmidWhileAttachedDefersDestruction"}},
      {"posix_shm",
       {"PosixShm.WritesVisibleToAnotherProcess", "PosixShm.NewObjectIsEmptyZeroFilledAndCloexec",
        "PosixShm.UnlinkWhileMappedKeepsTheMemory"}},
      {"mmap_file",
       {"MmapFile.SharedWritesVisibleToOtherMappingsAndProcesses",
        "MmapFile.FtruncateGrowsZeroFilled", "MmapFile.MappingSurvivesUnlinkAndClose"}},
      {"memfd",
       {"Memfd.NewFileIsEmptyReadWriteAndNamedInProc",
        "Memfd.SharedThroughForkAndDescriptorPassing", "Memfd.SealShrinkRefusesShrinkingOnly",
        "Memfd.SealGrowRefusesGrowingOnly"}},
      {"pipe",
       {"Pipe.ReadReturnsAvailableBytesWithoutWaitingForMore", "Pipe.ReadWithNoWritersReturnsEof",
        "Pipe.WriterDeathSeenAsEof", "Pipe.NonblockingReadOnEmptyFailsEagain",
        "Pipe.PollReportsPollinOnlyWithData"}},
      {"fifo",
       {"Fifo.DataPassesWithoutFileContents", "Fifo.OpenRendezvousReadWriteOpenAndEof",
        "Shared/WouldBlock.NonblockingTakeFromEmptyFails/fifo"}},
      {"unix_stream",
       {"UnixStream.NoMessageBoundaries", "UnixStream.PeerClosedGivesEofThenEpipe",
        "UnixStream.FullSendBufferFailsEagain"}},
      {"unix_seqpacket",
       {"UnixSeqpacket.MessageBoundariesKept", "UnixSeqpacket.PeerClosedGivesEofThenEpipe",
        "UnixSeqpacket.MessageSizeAndFullBufferLimits"}},
      {"sysv_msg",
       {"SysvMsg.FullQueueWithNowaitFailsEagain", "SysvMsg.SenderOnFullQueueBlocksUntilSpaceFrees",
        "SysvMsg.NowaitReceiveWithoutMatchFailsEnomsg",
        "SysvMsg.IpcRmidWakesBlockedReceiverWithEidrm"}},
      {"posix_mq",
       {"PosixMq.MessageBoundariesKept", "PosixMq.HighestPriorityOldestFirst",
        "PosixMq.EmptyOneByteAndFullSizeMessagesRoundTrip",
        "Shared/WouldBlock.NonblockingTakeFromEmptyFails/posix_mq",
        "Shared/TimedWait.TimesOutWithDocumentedErrno/posix_mq"}},
      {"tcp_loopback",
       {"TcpLoopback.BytesInOrderAndAddressesMirror", "TcpLoopback.NodelaySetAndGet",
        "TcpLoopback.ShutdownWriteGivesPeerEofOtherDirectionWorks"}},
      // waiters (the polling ones rely on nothing but the shared memory itself)
      {"futex",
       {"Futex.WaitWithDifferentValueFailsEagain", "Futex.WakeReturnsNumberWokenAcrossProcesses",
        "Futex.WaitTimesOutWithEtimedout"}},
      {"adaptive",
       {"Futex.WaitWithDifferentValueFailsEagain", "Futex.WakeReturnsNumberWokenAcrossProcesses",
        "Futex.WaitTimesOutWithEtimedout"}},
      {"posix_sem",
       {"PosixSem.PostIncrementsByOneAndWakesWaiter",
        "PosixSem.TimedwaitTimesOutAtAbsoluteDeadline",
        "PosixSem.ProcessSharedSemaphoreInPosixShmWorksAcrossFork"}},
      {"sysv_sem",
       {"SysvSem.OperationsOfOneCallAreAtomic", "SysvSem.SemtimedopTimesOutWithEagain",
        "SysvSem.NowaitWouldBlockFailsEagain"}},
      {"condvar",
       {"Pthread.CondSignalWakesOneAndBroadcastWakesAllProcesses",
        "Pthread.ProcessSharedMutexExcludesAcrossFork", "Pthread.OwnerDeathReturnsEownerdead"}},
      {"eventfd",
       {"Eventfd.BlockingReadWaitsForWrite", "Eventfd.WritesAddToCounter",
        "Eventfd.ForkedChildSharesCounter"}},
  };
  return kTests;
}

std::vector<std::string> tests_for(const std::string& backend, const std::string& sync) {
  std::vector<std::string> out;
  for (const auto& key : {backend, sync}) {
    auto it = table().find(key);
    if (it != table().end()) out.insert(out.end(), it->second.begin(), it->second.end());
  }
  return out;
}

}  // namespace

std::string preflight_filter(const std::string& backend, const std::string& sync) {
  std::string f;
  for (const auto& t : tests_for(backend, sync)) f += (f.empty() ? "" : ":") + t;
  return f;
}

std::string Preflight::refusal(const std::string& backend, const std::string& sync) const {
  for (const auto& t : tests_for(backend, sync)) {
    for (const auto& v : verdicts) {
      if (v.test == t && (v.verdict == "FAIL" || v.verdict == "BROKEN")) {
        return "preflight: conformance test " + t + " " + v.verdict + ": " + v.reason;
      }
    }
  }
  return {};
}

nlohmann::json Preflight::to_json() const {
  nlohmann::json tests = nlohmann::json::array();
  for (const auto& v : verdicts) {
    tests.push_back({{"test", v.test}, {"verdict", v.verdict}, {"reason", v.reason}});
  }
  return {{"seconds", seconds}, {"tests", tests}};
}

Result<Preflight> run_preflight(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::set<std::string> seen;
  std::string filter;
  for (const auto& [backend, sync] : pairs) {
    for (const auto& t : tests_for(backend, sync)) {
      if (seen.insert(t).second) filter += (filter.empty() ? "" : ":") + t;
    }
  }
  Preflight p;
  if (filter.empty()) return p;
  const uint64_t t0 = sys::now_ns();
  ConformRunOptions o;
  o.test_timeout_s = 5;
  IPCB_TRY(auto outcomes, run_conformance_tests(filter, o));
  p.seconds = static_cast<double>(sys::now_ns() - t0) * 1e-9;
  for (const auto& oc : outcomes) p.verdicts.push_back({oc.test, oc.verdict, oc.reason});
  // A name in the table that ran no test is a mistake in the table, not a pass.
  for (const auto& t : seen) {
    bool ran = false;
    for (const auto& v : p.verdicts) ran = ran || v.test == t;
    if (!ran) return plain_error("preflight", "no conformance test is named " + t);
  }
  return p;
}

}  // namespace ipcb
