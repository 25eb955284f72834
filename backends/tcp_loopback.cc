// tcp_loopback backend (see tcp_loopback.h). The owner accepts lazily, at its first send or
// receive, watching `abort` while it waits, and closes the listener once the peer is in.
#include "backends/tcp_loopback.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>

#include "backends/fd_stream.h"
#include "harness/sys/sys_kernel.h"

namespace ipcb {
namespace {

constexpr const char* kHost = "127.0.0.1:";
constexpr size_t kTokenChars = 32;            // random_hex(16)
constexpr uint64_t kTokenNs = 2'000'000'000;  // how long a new connection may take to send it

class TcpChannel final : public FdStreamChannel {
 public:
  TcpChannel(const ChannelConfig& c, KernelSync sync) : FdStreamChannel(c, sync, "tcp_loopback") {}

  // Owner: listen; the connection comes later (open_rx / open_tx).
  Status listen() {
    IPCB_TRY(listener_, sys::tcp_listen_loopback(4));
    IPCB_TRY(port_, sys::local_port(listener_.get()));
    token_ = sys::random_hex(kTokenChars / 2);
    return ok_status();
  }

  // Peer: connect and introduce ourselves with the token.
  Status connect(uint16_t port, const std::string& token) {
    IPCB_TRY(conn_, sys::tcp_connect_loopback(port));
    IPCB_TRY_STATUS(
        sys::set_socket_int(conn_.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", what()));
    auto bytes = std::as_bytes(std::span(token));
    for (size_t done = 0; done < bytes.size();) {
      IPCB_TRY(auto n, sys::write_some(conn_.get(), bytes.subspan(done), {}, true, what()));
      done += n.value_or(0);
    }
    return attach();
  }

  std::string object() const override { return kHost + std::to_string(port_) + ":" + token_; }

 protected:
  Status open_rx() override { return accept_peer(); }
  Status open_tx() override { return accept_peer(); }

 private:
  Status attach() {
    IPCB_TRY_STATUS(attach_rx(conn_.get()));
    return attach_tx(conn_.get(), /*socket=*/true);
  }

  Status accept_peer() {
    if (conn_.valid()) return ok_status();
    for (;;) {
      bool was_aborted = waiter().aborted();
      IPCB_TRY(auto c, sys::accept_some(listener_.get()));
      if (c) {
        IPCB_TRY(bool ours, has_token(c->get()));
        if (ours) {
          conn_ = std::move(*c);
          break;
        }
        continue;  // a stranger: drop it (closing *c) and wait for the peer
      }
      if (was_aborted) return aborted_error("accept");
      IPCB_TRY(short revents, sys::poll_one(listener_.get(), POLLIN, KernelWait::kSliceMs));
      (void)revents;
    }
    listener_.reset();
    IPCB_TRY_STATUS(
        sys::set_socket_int(conn_.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", what()));
    return attach();
  }

  // Reads the first kTokenChars bytes of a new connection; false if they are not our token,
  // or do not come within kTokenNs.
  Result<bool> has_token(int fd) {
    IPCB_TRY_STATUS(sys::set_nonblocking(fd, true, what()));
    std::string got(kTokenChars, '\0');
    auto buf = std::as_writable_bytes(std::span(got));
    uint64_t deadline = sys::now_ns() + kTokenNs;
    for (size_t done = 0; done < got.size();) {
      if (waiter().aborted()) return aborted_error("accept");
      if (sys::now_ns() > deadline) return false;
      IPCB_TRY(short revents, sys::poll_one(fd, POLLIN, KernelWait::kSliceMs));
      if (revents == 0) continue;
      auto n = sys::read_some(fd, buf.subspan(done), what());
      if (!n || (n.value() && *n.value() == 0)) return false;  // reset or closed: not the peer
      done += n.value().value_or(0);
    }
    return got == token_;
  }

  sys::Fd listener_, conn_;
  uint16_t port_ = 0;
  std::string token_;
};

}  // namespace

Result<std::unique_ptr<OwnedChannel>> create_tcp_loopback_channel(const ChannelConfig& c) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "tcp_loopback"));
  return channel_after<OwnedChannel>(new TcpChannel(c, sync), &TcpChannel::listen);
}

Result<std::unique_ptr<Channel>> open_tcp_loopback_channel(const ChannelConfig& c,
                                                           const std::string& object) {
  IPCB_TRY(KernelSync sync, parse_kernel_sync(c, kernel_syncs(), "tcp_loopback"));
  // "127.0.0.1:PORT:TOKEN", from the command line: untrusted.
  const std::string host = kHost;
  auto bad = plain_error("tcp_loopback",
                         "not an address made by ipcbench: '" + object.substr(0, 80) + "'");
  if (object.compare(0, host.size(), host) != 0) return bad;
  const char* p = object.c_str() + host.size();
  char* end = nullptr;
  long port = std::strtol(p, &end, 10);
  if (end == p || *end != ':' || port <= 0 || port > 65535) return bad;
  std::string token = end + 1;
  if (token.size() != kTokenChars ||
      token.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return bad;
  }
  return channel_after<Channel>(new TcpChannel(c, sync), &TcpChannel::connect,
                                static_cast<uint16_t>(port), token);
}

}  // namespace ipcb
