// sysv_msg backend (see sysv_msg.h).
#include "backends/sysv_msg.h"

#include <sys/ipc.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "backends/kernel_channel.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

constexpr long kType = 1;                     // every message has this mtype
constexpr long kWake = 2;                     // interrupt()'s empty message to a blocked msgrcv
constexpr size_t kTextOffset = sizeof(long);  // struct msgbuf: long mtype, then the text

// Queue 0 carries owner -> peer, queue 1 peer -> owner; the object is "KEY0,KEY1" in decimal.
class MsgChannel final : public OwnedChannel {
 public:
  MsgChannel(const ChannelConfig& c, KernelSync sync)
      : message_bytes_(c.message_bytes),
        wait_(sync, c.abort),
        tx_buf_(kTextOffset + c.message_bytes),
        rx_buf_(kTextOffset + c.message_bytes) {
    std::memcpy(tx_buf_.data(), &kType, sizeof kType);
  }
  ~MsgChannel() override { remove_queues(); }

  // Owner: records and creates both queues.
  Status make() {
    for (int q = 0; q < 2; ++q) IPCB_TRY_STATUS(make_queue(q));
    tx_id_ = ids_[0].load();
    rx_id_ = ids_[1].load();
    return ok_status();
  }

  // Peer: opens both by key and checks they are what the owner made.
  Status open(key_t key0, key_t key1) {
    keys_[0] = key0;
    keys_[1] = key1;
    IPCB_TRY(rx_id_, open_checked(key0));
    IPCB_TRY(tx_id_, open_checked(key1));
    return ok_status();
  }

  Status send(const FrameHeader& h, std::span<const std::byte> payload) override {
    std::memcpy(tx_buf_.data() + kTextOffset, &h, sizeof h);
    std::memcpy(tx_buf_.data() + kTextOffset + sizeof h, payload.data(), payload.size());
    auto attempt = [&]() -> Result<std::optional<Ok>> {
      IPCB_TRY(bool sent, sys::msg_send(tx_id_, tx_buf_.data(), message_bytes_, nowait()));
      return sent ? std::optional<Ok>(Ok{}) : std::nullopt;
    };
    auto r = wait_.until_done(attempt, -1, 0, "send");
    if (!r) return removed_is_abort(r.error(), "send");
    return ok_status();
  }

  Result<size_t> recv(std::span<std::byte> buf) override {
    if (buf.size() < message_bytes_) return plain_error("recv", "buffer smaller than a message");
    auto r = wait_.until_done(
        [&] { return sys::msg_recv(rx_id_, rx_buf_.data(), message_bytes_, nowait()); }, -1, 0,
        "recv");
    if (!r) return removed_is_abort(r.error(), "recv");
    long type = 0;
    std::memcpy(&type, rx_buf_.data(), sizeof type);
    if (type == kWake && wait_.aborted()) return aborted_error("recv");
    if (type != kType) {
      return plain_error(
          "msgrcv(msg id " + std::to_string(rx_id_) + ")",
          "a message of type " + std::to_string(type) + ", expected " + std::to_string(kType));
    }
    if (*r != message_bytes_) {
      return plain_error("msgrcv(msg id " + std::to_string(rx_id_) + ")",
                         "a message of " + std::to_string(*r) + " bytes, expected " +
                             std::to_string(message_bytes_));
    }
    std::memcpy(buf.data(), rx_buf_.data() + kTextOffset, message_bytes_);
    return message_bytes_;
  }

  std::string object() const override {
    return std::to_string(keys_[0]) + "," + std::to_string(keys_[1]);
  }
  // From the watchdog thread, after `abort` was raised because the peer is gone. Only `block`
  // can be stuck in the kernel: a msgsnd to a full queue ends with EIDRM when that queue (owner
  // -> peer, nothing there matters any more) is removed; a msgrcv on an empty queue ends with
  // the empty kWake message, queued behind whatever the peer sent before it went (a peer that
  // answered and then exited is no failure: removing this queue would lose its answer). If the
  // queue is full, no msgrcv waits, and every later call sees `abort` and does not block.
  void interrupt() override {
    if (wait_.nonblocking()) return;
    int to_peer = ids_[0].exchange(-1);
    if (to_peer >= 0) (void)sys::msg_rmid(to_peer);
    int from_peer = ids_[1].load();
    if (from_peer >= 0) (void)sys::msg_send(from_peer, &kWake, 0, /*nowait=*/true);
  }

 private:
  Status make_queue(int q) {
    for (int attempt = 0;; ++attempt) {
      key_t key = static_cast<key_t>(sys::random_u32() & 0x7FFFFFFF);
      if (key == IPC_PRIVATE) continue;
      IPCB_TRY(records_[q], manifest::record(manifest::Kind::kSysvMsg, std::to_string(key)));
      auto id = sys::msgget_create_excl(key);
      if (!id) {
        manifest::release(records_[q]);
        records_[q] = -1;
        if (id.error().err == EEXIST && attempt < 8) continue;  // key collision: draw again
        return id.error();
      }
      keys_[q] = key;
      ids_[q].store(*id);
      return ok_status();
    }
  }

  Result<int> open_checked(key_t key) {
    IPCB_TRY(int id, sys::msgget_existing(key));
    IPCB_TRY(sys::MsgQueueInfo info, sys::msg_stat(id));
    std::string what = "msg key " + std::to_string(key);
    if (info.uid != sys::euid() || info.cuid != sys::euid() || (info.mode & 0777) != 0600) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(info.mode & 0777));
      return plain_error(what, "not a private queue of this user (uid " + std::to_string(info.uid) +
                                   ", mode " + mode + ")");
    }
    if (info.qbytes < message_bytes_) {
      return plain_error(what,
                         "holds " + std::to_string(info.qbytes) + " bytes, less than a message");
    }
    return id;
  }

  // Owner only. The exchange keeps interrupt() and this from removing one id twice: a SysV id
  // is reused, a second IPC_RMID could hit another program's queue.
  void remove_queues() {
    for (int q = 0; q < 2; ++q) {
      int id = ids_[q].exchange(-1);
      if (id >= 0) (void)sys::msg_rmid(id);
      manifest::release(records_[q]);
      records_[q] = -1;
    }
  }

  // Once `abort` is up, every call is IPC_NOWAIT: nothing may block after interrupt() ran.
  bool nowait() const { return wait_.nonblocking() || wait_.aborted(); }

  // After interrupt() removed a queue, a wait ends with EIDRM (or EINVAL): that is the abort.
  Error removed_is_abort(Error e, const char* what) const {
    if ((e.err == EIDRM || e.err == EINVAL) && wait_.aborted()) return aborted_error(what);
    return e;
  }

  size_t message_bytes_;
  KernelWait wait_;
  std::vector<std::byte> tx_buf_, rx_buf_;  // struct msgbuf: mtype, then header and payload
  int tx_id_ = -1, rx_id_ = -1;
  key_t keys_[2] = {0, 0};
  std::atomic<int> ids_[2] = {-1, -1};  // owner: the queues to remove
  int records_[2] = {-1, -1};
};

Result<key_t> parse_key(const std::string& text) {
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v <= 0 || v > 0x7FFFFFFF) {
    return plain_error("sysv_msg", "not a SysV key: '" + text.substr(0, 40) + "'");
  }
  return static_cast<key_t>(v);
}

}  // namespace

std::vector<std::string> sysv_msg_syncs() {
  return {"block", "busy"};
}

std::string sysv_msg_size_limit(size_t message_bytes, size_t /*channels: per queue*/,
                                bool /*deep*/) {
  // Root could raise a queue's msg_qbytes beyond msgmnb; we measure what anyone can. Every
  // limit in the way, joined by "; ", so the advice raises them all at once.
  std::string why;
  for (const char* name : {"kernel.msgmax", "kernel.msgmnb"}) {
    auto limit = sys::read_sysctl(name);
    if (!limit) return limit.error().message();
    if (message_bytes > *limit) {
      why += std::string(why.empty() ? "" : "; ") + "message of " + std::to_string(message_bytes) +
             " bytes exceeds " + name + " = " + std::to_string(*limit);
    }
  }
  return why;
}

Result<std::unique_ptr<OwnedChannel>> create_sysv_msg_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, sysv_msg_syncs(), "sysv_msg"));
  IPCB_TRY_STATUS(check_size_limit(sysv_msg_size_limit(c.message_bytes), "sysv_msg"));
  return channel_after<OwnedChannel>(new MsgChannel(c, sync), &MsgChannel::make);
}

Result<std::unique_ptr<Channel>> open_sysv_msg_channel(const ChannelConfig& c,
                                                       const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, sysv_msg_syncs(), "sysv_msg"));
  auto comma = object.find(',');
  if (comma == std::string::npos) {
    return plain_error("sysv_msg",
                       "expected two keys KEY0,KEY1, got '" + object.substr(0, 40) + "'");
  }
  IPCB_TRY(key_t k0, parse_key(object.substr(0, comma)));
  IPCB_TRY(key_t k1, parse_key(object.substr(comma + 1)));
  return channel_after<Channel>(new MsgChannel(c, sync), &MsgChannel::open, k0, k1);
}

}  // namespace ipcb
