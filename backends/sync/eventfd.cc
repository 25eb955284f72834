// eventfd waiter (see eventfd.h).
#include "backends/sync/eventfd.h"

#include "harness/sys/sys_sync.h"

namespace ipcb {
namespace {

struct EventfdSlot {
  std::atomic<uint32_t> waiters;
  std::atomic<int32_t> fd;           // the creator's descriptor number; untrusted for the peer
  std::atomic<int32_t> creator_pid;  // see open()
};
static_assert(sizeof(EventfdSlot) <= Waiter::kSlotBytes, "the slot must fit its area");
static_assert(sizeof(pid_t) == sizeof(int32_t), "the slot stores a pid_t as 32 bits");

class EventfdWaiter final : public Waiter {
 public:
  EventfdWaiter(EventfdSlot* s, sys::Fd fd, bool creator)
      : s_(s), fd_(std::move(fd)), creator_(creator) {}

  void notify() override {
    // An error here (the descriptor broke) shows as the waiter's own error, or its slice ends.
    if (someone_announced(s_->waiters)) (void)sys::eventfd_signal(fd_.get());
  }

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) -> Result<bool> {
          IPCB_TRY(bool readable, sys::poll_readable_until(fd_.get(), deadline));
          if (readable) IPCB_TRY_STATUS(sys::eventfd_drain(fd_.get()));
          return readable;
        },
        sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }
  std::vector<int> inherited_fds() const override {
    if (!creator_) return {};
    return {fd_.get()};
  }

 private:
  EventfdSlot* s_;
  sys::Fd fd_;  // this side's own descriptor, closed at destruction
  bool creator_;
};

Result<std::unique_ptr<Waiter>> create(EventfdSlot* s) {
  IPCB_TRY(sys::Fd fd, sys::eventfd_create());
  s->fd.store(fd.get(), std::memory_order_relaxed);
  s->creator_pid.store(sys::current_pid(), std::memory_order_relaxed);
  return std::unique_ptr<Waiter>(new EventfdWaiter(s, std::move(fd), true));
}

Result<std::unique_ptr<Waiter>> open(EventfdSlot* s) {
  int fd = s->fd.load(std::memory_order_relaxed);
  if (!sys::is_eventfd(fd)) {
    return plain_error("eventfd", "corrupt waiter slot: it names descriptor " + std::to_string(fd) +
                                      ", which is not an eventfd open in this process (was it "
                                      "inherited?)");
  }
  // Each side closes exactly its own descriptor: the opener works on a copy. A peer process
  // also closes the inherited number, which was meant for it alone, so a second slot naming the
  // same number fails the check above instead of sharing (and closing) it twice. An opener in
  // the creator's own process (tests) shares the creator's number and leaves it alone. Trap: a
  // lying slot can still name another eventfd of ours; a pid equal to ours leaves one open.
  IPCB_TRY(sys::Fd copy, sys::dup_cloexec(fd));
  if (s->creator_pid.load(std::memory_order_relaxed) != sys::current_pid()) sys::Fd(fd).reset();
  return std::unique_ptr<Waiter>(new EventfdWaiter(s, std::move(copy), false));
}

}  // namespace

Result<std::unique_ptr<Waiter>> make_eventfd_waiter(std::byte* slot, bool creator,
                                                    const ChannelConfig&) {
  auto* s = reinterpret_cast<EventfdSlot*>(slot);
  return creator ? create(s) : open(s);
}

}  // namespace ipcb
