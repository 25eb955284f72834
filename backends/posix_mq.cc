// posix_mq backend (see posix_mq.h).
#include "backends/posix_mq.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>

#include "backends/kernel_channel.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

constexpr const char* kPrefix = "/ipcb-";
constexpr long kMaxMsg = 10;  // messages a queue holds (capped by fs.mqueue.msg_max)
// What the kernel charges per message beyond its text against RLIMIT_MSGQUEUE (a struct msg_msg
// and a share of the priority tree, mqueue_get_inode), rounded up to be safe.
constexpr uint64_t kPerMsgOverhead = 128;
constexpr uint64_t kSliceNs = KernelWait::kSliceMs * 1'000'000ULL;

Result<long> queue_depth() {
  IPCB_TRY(uint64_t msg_max, sys::read_sysctl("fs.mqueue.msg_max"));
  return std::max<long>(1, std::min<long>(kMaxMsg, static_cast<long>(msg_max)));
}

// Queue 0 carries owner -> peer, queue 1 peer -> owner; the object is "NAME0,NAME1".
class MqChannel final : public OwnedChannel {
 public:
  MqChannel(const ChannelConfig& c, KernelSync sync)
      : message_bytes_(c.message_bytes), wait_(sync, c.abort), tx_buf_(c.message_bytes) {}
  ~MqChannel() override { (void)remove_names(); }

  // Owner: records and creates both queues.
  Status make() {
    IPCB_TRY(long depth, queue_depth());
    int nb = wait_.nonblocking() ? O_NONBLOCK : 0;
    for (int q = 0; q < 2; ++q) {
      names_[q] = sys::owned_name(kPrefix);
      IPCB_TRY(records_[q], manifest::record(manifest::Kind::kPosixMq, names_[q]));
      auto made = sys::mq_create_excl(names_[q], (q == 0 ? O_WRONLY : O_RDONLY) | nb, depth,
                                      static_cast<long>(message_bytes_));
      if (!made) {
        manifest::release(records_[q]);  // EEXIST: someone else's queue, not ours to remove
        records_[q] = -1;
        return made.error();
      }
      (q == 0 ? tx_ : rx_) = std::move(*made);
    }
    tx_name_ = names_[0];
    rx_name_ = names_[1];
    return ok_status();
  }

  // Peer: opens both by name and checks they are what the owner made.
  Status open(const std::string& name0, const std::string& name1) {
    int nb = wait_.nonblocking() ? O_NONBLOCK : 0;
    IPCB_TRY(rx_, open_checked(name0, O_RDONLY | nb));
    IPCB_TRY(tx_, open_checked(name1, O_WRONLY | nb));
    rx_name_ = name0;
    tx_name_ = name1;
    return ok_status();
  }

  Status send(const FrameHeader& h, std::span<const std::byte> payload) override {
    std::memcpy(tx_buf_.data(), &h, sizeof h);
    std::memcpy(tx_buf_.data() + sizeof h, payload.data(), payload.size());
    const bool timed = !wait_.nonblocking();
    auto attempt = [&]() -> Result<std::optional<Ok>> {
      IPCB_TRY(bool sent, sys::mq_send_msg(tx_, tx_buf_, timed ? deadline() : 0, tx_name_));
      return sent ? std::optional<Ok>(Ok{}) : std::nullopt;
    };
    IPCB_TRY(Ok done, wait_.until_done(attempt, tx_.get(), POLLOUT, "send"));
    (void)done;
    return ok_status();
  }

  Result<size_t> recv(std::span<std::byte> buf) override {
    if (buf.size() < message_bytes_) return plain_error("recv", "buffer smaller than a message");
    const bool timed = !wait_.nonblocking();
    auto into = buf.first(message_bytes_);  // == mq_msgsize, as mq_receive requires
    IPCB_TRY(size_t n,
             wait_.until_done(
                 [&] { return sys::mq_recv_msg(rx_, into, timed ? deadline() : 0, rx_name_); },
                 rx_.get(), POLLIN, "recv"));
    if (n != message_bytes_) {
      return plain_error("mq_receive(" + rx_name_ + ")", "a message of " + std::to_string(n) +
                                                             " bytes, expected " +
                                                             std::to_string(message_bytes_));
    }
    return n;
  }

  std::string object() const override { return tx_name_ + "," + rx_name_; }
  Status peer_connected() override { return remove_names(); }

 private:
  static uint64_t deadline() { return sys::realtime_ns() + kSliceNs; }

  Result<sys::Mq> open_checked(const std::string& name, int flags) {
    IPCB_TRY(sys::Mq q, sys::mq_open_existing(name, flags));
    IPCB_TRY(struct stat st, sys::fstat_fd(q.get(), name));
    IPCB_TRY_STATUS(sys::check_private(st, 0, name));
    IPCB_TRY(sys::MqAttr a, sys::mq_attributes(q, name));
    if (a.msgsize != static_cast<long>(message_bytes_) || a.maxmsg < 1) {
      return plain_error(name, "mq_msgsize " + std::to_string(a.msgsize) + ", expected " +
                                   std::to_string(message_bytes_));
    }
    return q;
  }

  Status remove_names() {
    Status result = ok_status();
    for (int q = 0; q < 2; ++q) {
      if (records_[q] < 0) continue;
      auto st = sys::mq_remove(names_[q]);
      if (!st && result) result = st;
      manifest::release(records_[q]);
      records_[q] = -1;
    }
    return result;
  }

  size_t message_bytes_;
  KernelWait wait_;
  std::vector<std::byte> tx_buf_;  // mq_send takes one buffer: header and payload go here
  sys::Mq tx_, rx_;
  std::string tx_name_, rx_name_;
  std::string names_[2];  // owner: the names it created, to remove
  int records_[2] = {-1, -1};
};

bool valid_name(const std::string& name) {
  return sys::is_owned_name(name, kPrefix);
}

}  // namespace

std::string posix_mq_size_limit(size_t message_bytes, size_t channels, bool /*deep*/) {
  // Every limit in the way, joined by "; ", so the advice raises them all at once.
  std::string why;
  auto msgsize_max = sys::read_sysctl("fs.mqueue.msgsize_max");
  if (!msgsize_max) return msgsize_max.error().message();
  if (message_bytes > *msgsize_max) {
    why = "message of " + std::to_string(message_bytes) +
          " bytes exceeds fs.mqueue.msgsize_max = " + std::to_string(*msgsize_max);
  }
  auto depth = queue_depth();
  auto rlimit = sys::soft_rlimit(RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE");
  if (!depth) return depth.error().message();
  if (!rlimit) return rlimit.error().message();
  const uint64_t queues = 2 * std::max<size_t>(channels, 1);
  uint64_t need = queues * static_cast<uint64_t>(*depth) * (message_bytes + kPerMsgOverhead);
  if (need > *rlimit) {
    why += std::string(why.empty() ? "" : "; ") +
           (queues == 2 ? std::string("two") : std::to_string(queues)) + " queues of " +
           std::to_string(*depth) + " x " + std::to_string(message_bytes) + " bytes (" +
           std::to_string(need) +
           " with kernel overhead) exceed RLIMIT_MSGQUEUE = " + std::to_string(*rlimit) +
           " (ulimit -q)";
  }
  return why;
}

Result<std::unique_ptr<OwnedChannel>> create_posix_mq_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "posix_mq"));
  // Root could create bigger queues than the configured limits; we measure what anyone can.
  IPCB_TRY_STATUS(check_size_limit(posix_mq_size_limit(c.message_bytes), "posix_mq"));
  return channel_after<OwnedChannel>(new MqChannel(c, sync), &MqChannel::make);
}

Result<std::unique_ptr<Channel>> open_posix_mq_channel(const ChannelConfig& c,
                                                       const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "posix_mq"));
  auto comma = object.find(',');
  std::string n0 = object.substr(0, comma);
  std::string n1 = comma == std::string::npos ? "" : object.substr(comma + 1);
  if (!valid_name(n0) || !valid_name(n1)) {
    return plain_error("posix_mq",
                       "not queue names made by ipcbench: '" + object.substr(0, 100) + "'");
  }
  return channel_after<Channel>(new MqChannel(c, sync), &MqChannel::open, n0, n1);
}

}  // namespace ipcb
