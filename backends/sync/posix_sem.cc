// posix_sem waiter (see posix_sem.h).
#include "backends/sync/posix_sem.h"

#include "harness/sys.h"

namespace ipcb {
namespace {

struct SemSlot {
  std::atomic<uint32_t> waiters;
  alignas(16) sem_t sem;
};
static_assert(sizeof(SemSlot) <= Waiter::kSlotBytes, "the slot must fit its area");

class PosixSemWaiter final : public Waiter {
 public:
  PosixSemWaiter(SemSlot* s, bool creator) : s_(s), creator_(creator) {}
  ~PosixSemWaiter() override {
    if (creator_) sys::sem_destroy_shared(&s_->sem);
  }

  void notify() override {
    if (someone_announced(s_->waiters)) (void)sys::sem_post_shared(&s_->sem);
  }

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) { return sys::sem_wait_until(&s_->sem, deadline); },
        sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }

 private:
  SemSlot* s_;
  bool creator_;
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_posix_sem_waiter(std::byte* slot, bool creator,
                                                      const ChannelConfig&) {
  auto* s = reinterpret_cast<SemSlot*>(slot);
  if (creator) IPCB_TRY_STATUS(sys::sem_init_shared(&s->sem, 0));
  return std::unique_ptr<Waiter>(new PosixSemWaiter(s, creator));
}

}  // namespace ipcb
