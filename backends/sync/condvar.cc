// condvar waiter (see condvar.h).
#include "backends/sync/condvar.h"

#include "harness/sys/sys_sync.h"

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
    // cannot be taken (a corrupt slot, ENOTRECOVERABLE, held past a slice), the waiter still
    // wakes at the end of its slice, and its own check reports a corrupt slot.
    if (!check_slot()) return;
    auto locked = sys::mutex_lock_until(&s_->mutex, sys::now_ns() + kSliceNs);
    if (!locked || !*locked) return;
    sys::mutex_unlock(&s_->mutex);
    sys::cond_broadcast(&s_->cond);
  }

  // Every lock is timed, so a mutex held for ever by a dead or hostile peer costs one slice,
  // and the slot's type word is checked before each use (glibc acts on it; a PI or unknown type
  // written by someone else could block for ever or fail). Trap: pthread_cond_clockwait takes
  // the mutex back untimed when it returns; if a peer breaks the mutex word in that instant,
  // only the watchdog's last resort ends the run (see harness/run/peer.h).
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return announce_then_sleep(
        s_->waiters, ready, abort, [] { return 0; },
        [&](int, uint64_t deadline) -> Result<bool> {
          IPCB_TRY_STATUS(check_slot());
          IPCB_TRY(bool locked, sys::mutex_lock_until(&s_->mutex, deadline));
          if (!locked) return false;  // the slice ended: look at the condition and abort again
          Result<bool> woke = true;
          if (!ready()) {
            auto st = check_slot();
            woke = st ? sys::cond_wait_until(&s_->cond, &s_->mutex, deadline) : st.error();
            // glibc's EINVAL for a word someone broke while we slept: say what it is.
            if (!woke) {
              if (auto now = check_slot(); !now) woke = now.error();
            }
          }
          sys::mutex_unlock(&s_->mutex);
          return woke;
        },
        sys::now_ns);
  }
  const char* wait_mode() const override { return "block"; }
  Status check() const { return check_slot(); }

 private:
  static constexpr uint64_t kSliceNs = Waiter::kSliceNs;
  Status check_slot() const {
    int kind = sys::mutex_kind(&s_->mutex);
    if (kind == sys::robust_shared_mutex_kind()) return ok_status();
    return plain_error("condvar", "corrupt waiter slot: the mutex's type word is " +
                                      std::to_string(kind) + ", not the robust process-shared " +
                                      std::to_string(sys::robust_shared_mutex_kind()) +
                                      " it was made with (written by another process)");
  }

  CondvarSlot* s_;
  bool creator_;
};

// The creator's half: the robust process-shared mutex and the process-shared condvar.
Status init_slot(CondvarSlot* s) {
  IPCB_TRY_STATUS(sys::mutex_init_shared_robust(&s->mutex));
  auto cond = sys::cond_init_shared(&s->cond);
  if (!cond) {
    sys::mutex_destroy(&s->mutex);
    return cond.error();
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<Waiter>> make_condvar_waiter(std::byte* slot, bool creator,
                                                    const ChannelConfig&) {
  // The creator's own slot needs no check; the other side's is untrusted.
  return make_slot_waiter<CondvarWaiter, CondvarSlot>(slot, creator, /*check=*/!creator, init_slot);
}

}  // namespace ipcb
