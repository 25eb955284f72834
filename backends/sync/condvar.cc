// condvar waiter (see condvar.h).
#include "backends/sync/condvar.h"

#include "harness/sys_sync.h"

namespace ipcb {
namespace {

struct CondvarSlot {
  std::atomic<uint32_t> waiters;
  alignas(16) pthread_mutex_t mutex;
  alignas(16) pthread_cond_t cond;
};
static_assert(sizeof(CondvarSlot) <= Waiter::kSlotBytes, "the mutex and condvar must fit the slot");

class CondvarWaiter final : public Waiter {
 public:
  CondvarWaiter(CondvarSlot* s, bool creator) : s_(s), creator_(creator) {}
  ~CondvarWaiter() override {
    if (!creator_) return;
    // glibc's pthread_cond_destroy blocks until every waiter has left the condvar, also one of
    // a peer killed inside the wait, whose announcement is then still counted: skip it then
    // (it holds no kernel resource; the memory goes with the segment).
    if (s_->waiters.load(std::memory_order_acquire) == 0) sys::cond_destroy(&s_->cond);
    sys::mutex_destroy(&s_->mutex);
  }

  void notify() override {
    if (!someone_announced(s_->waiters)) return;
    // Taking the mutex orders us after the waiter's locked re-check (see condvar.h). If it
    // cannot be taken (ENOTRECOVERABLE), the waiter still wakes at the end of its slice.
    if (!sys::mutex_lock(&s_->mutex)) return;
    sys::mutex_unlock(&s_->mutex);
    sys::cond_broadcast(&s_->cond);
  }

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) -> Result<bool> {
          IPCB_TRY_STATUS(sys::mutex_lock(&s_->mutex));
          Result<bool> woke = true;
          if (!ready()) woke = sys::cond_wait_until(&s_->cond, &s_->mutex, deadline);
          sys::mutex_unlock(&s_->mutex);
          return woke;
        },
        sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }

 private:
  CondvarSlot* s_;
  bool creator_;
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_condvar_waiter(std::byte* slot, bool creator,
                                                    const ChannelConfig&) {
  auto* s = reinterpret_cast<CondvarSlot*>(slot);
  if (creator) {
    IPCB_TRY_STATUS(sys::mutex_init_shared_robust(&s->mutex));
    auto cond = sys::cond_init_shared(&s->cond);
    if (!cond) {
      sys::mutex_destroy(&s->mutex);
      return cond.error();
    }
  }
  return std::unique_ptr<Waiter>(new CondvarWaiter(s, creator));
}

}  // namespace ipcb
