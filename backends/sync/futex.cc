// futex waiter (see futex.h).
#include "backends/sync/futex.h"

#include "harness/sys/sys.h"

namespace ipcb {

struct FutexSlot {
  std::atomic<uint32_t> seq;      // bumped by every notify; the futex word
  std::atomic<uint32_t> waiters;  // sides that announced they may sleep
};
static_assert(sizeof(FutexSlot) <= Waiter::kSlotBytes, "the slot must fit its area");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "a futex word must be a plain int");

FutexWaiter::FutexWaiter(std::byte* slot) : s_(reinterpret_cast<FutexSlot*>(slot)) {}

void FutexWaiter::notify() {
  s_->seq.fetch_add(1, std::memory_order_release);
  // Either the waiter's re-check sees our progress or we see it waiting (see waiter.h).
  if (someone_announced(s_->waiters)) sys::futex_wake_all(&s_->seq);
}

Result<bool> FutexWaiter::wait(ReadyFn ready, const std::atomic<bool>& abort) {
  return announce_then_sleep(
      s_->waiters, ready, abort, [&] { return s_->seq.load(std::memory_order_acquire); },
      [&](uint32_t seen, uint64_t deadline) {
        return sys::futex_wait_until(&s_->seq, seen, deadline);
      },
      sys::now_ns);
}

Result<std::unique_ptr<Waiter>> make_futex_waiter(std::byte* slot, bool, const ChannelConfig&) {
  return std::unique_ptr<Waiter>(new FutexWaiter(slot));
}

}  // namespace ipcb
