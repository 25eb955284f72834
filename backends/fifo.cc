// fifo backend (see fifo.h). Two traps of FIFOs shape it: opening a write end fails (ENXIO, if
// non-blocking) or hangs until a reader exists, and reading a FIFO no writer has opened yet
// reports end of file. So the owner opens its write end lazily, retrying while watching
// `abort`, and each side's first receive waits in poll(2) (which reports nothing until a writer
// came) before trusting a read.
#include "backends/fifo.h"

#include <fcntl.h>
#include <poll.h>

#include "backends/fd_stream.h"
#include "backends/mmap_file.h"
#include "harness/sys/manifest.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

constexpr const char* kPrefix = "ipcbench-";
constexpr uint64_t kOpenRetryNs = 100'000;

// Path of the FIFO carrying owner -> peer (dir 0) or peer -> owner (dir 1).
std::string fifo_path(const std::string& base, int dir) {
  return base + (dir == 0 ? ".o2p.fifo" : ".p2o.fifo");
}

Result<sys::Fd> open_fifo(const std::string& path, int flags) {
  IPCB_TRY(sys::Fd fd, sys::open_file(path, flags | O_NONBLOCK | O_NOFOLLOW));
  IPCB_TRY(struct stat st, sys::fstat_fd(fd.get(), path));
  IPCB_TRY_STATUS(sys::check_private(st, S_IFIFO, path));
  return fd;
}

class FifoChannel final : public FdStreamChannel {
 public:
  FifoChannel(const ChannelConfig& c, KernelSync sync, std::string base)
      : FdStreamChannel(c, sync, "fifo"), base_(std::move(base)) {}
  ~FifoChannel() override { (void)remove_names(); }

  // Owner: records and makes both FIFOs, then opens its read end.
  Status make() {
    for (int dir = 0; dir < 2; ++dir) {
      IPCB_TRY(records_[dir], manifest::record(manifest::Kind::kFile, fifo_path(base_, dir)));
      auto made = sys::make_fifo(fifo_path(base_, dir), 0600);
      if (!made) {
        manifest::release(records_[dir]);  // not ours: EEXIST means someone else's file
        records_[dir] = -1;
        return made.error();
      }
    }
    IPCB_TRY(rx_fd_, open_fifo(fifo_path(base_, 1), O_RDONLY));
    return ok_status();
  }

  // Peer: its read end now, its write end too (the owner's read end exists since make()).
  Status open_peer_ends() {
    IPCB_TRY(rx_fd_, open_fifo(fifo_path(base_, 0), O_RDONLY));
    IPCB_TRY(tx_fd_, open_fifo(fifo_path(base_, 1), O_WRONLY));
    return attach_tx(tx_fd_.get(), /*socket=*/false);
  }

  std::string object() const override { return base_; }
  Status peer_connected() override { return remove_names(); }

 protected:
  // Owner only (the peer attaches its write end when it opens): ENXIO until the peer has
  // opened its read end.
  Status open_tx() override {
    const std::string path = fifo_path(base_, 0);
    for (;;) {
      bool was_aborted = waiter().aborted();
      auto fd = open_fifo(path, O_WRONLY);
      if (fd) {
        tx_fd_ = std::move(*fd);
        return attach_tx(tx_fd_.get(), /*socket=*/false);
      }
      if (fd.error().err != ENXIO) return fd.error();
      if (was_aborted) return aborted_error("open fifo for writing");
      sys::sleep_ns(kOpenRetryNs);
    }
  }

  // Until a writer has come, a read says end of file; poll says nothing. Wait for data.
  Status open_rx() override {
    for (;;) {
      bool was_aborted = waiter().aborted();
      IPCB_TRY(short revents, sys::poll_one(rx_fd_.get(), POLLIN, KernelWait::kSliceMs));
      if (revents != 0) break;  // data, or a writer came and went: the read will tell
      if (was_aborted) return aborted_error("recv");
    }
    return attach_rx(rx_fd_.get());
  }

 private:
  Status remove_names() {
    Status result = ok_status();
    for (int dir = 0; dir < 2; ++dir) {
      if (records_[dir] < 0) continue;
      auto st = sys::unlink_path(fifo_path(base_, dir));
      if (!st && result) result = st;
      manifest::release(records_[dir]);
      records_[dir] = -1;
    }
    return result;
  }

  std::string base_;
  sys::Fd rx_fd_, tx_fd_;
  int records_[2] = {-1, -1};
};

// The object is a path prefix made by create(); from the peer's command line, so untrusted.
Status check_base(const std::string& base) {
  const std::string prefix = kPrefix;
  auto slash = base.rfind('/');
  bool ok = !base.empty() && base[0] == '/' && base.size() < 3000 &&
            base.find("/../") == std::string::npos &&
            sys::is_owned_name(base.substr(slash + 1), prefix);
  if (!ok) return plain_error("fifo", "not a fifo name made by ipcbench: '" + base + "'");
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<OwnedChannel>> create_fifo_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "fifo"));
  std::string base = sys::owned_name(mmap_file_directory() + "/" + kPrefix);
  return channel_after<OwnedChannel>(new FifoChannel(c, sync, base), &FifoChannel::make);
}

Result<std::unique_ptr<Channel>> open_fifo_channel(const ChannelConfig& c,
                                                   const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "fifo"));
  IPCB_TRY_STATUS(check_base(object));
  return channel_after<Channel>(new FifoChannel(c, sync, object), &FifoChannel::open_peer_ends);
}

}  // namespace ipcb
