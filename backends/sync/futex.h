// futex: announce, re-check, then FUTEX_WAIT on a sequence word in the segment; the notifier
// bumps the word and calls FUTEX_WAKE only when a waiter announced itself (futex(2)).
#pragma once
#include "backends/sync/waiter.h"

namespace ipcb {

struct FutexSlot;

// The futex slot protocol, public so that `adaptive` reuses it after its spin phase. Needs no
// set-up: an all-zero slot is a valid slot, and nothing in it needs removing.
class FutexWaiter : public Waiter {
 public:
  explicit FutexWaiter(std::byte* slot);
  void notify() override;
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override;
  const char* wait_mode() const override { return "block"; }

 private:
  FutexSlot* s_;
};

Result<std::unique_ptr<Waiter>> make_futex_waiter(std::byte* slot, bool creator,
                                                  const ChannelConfig&);
}  // namespace ipcb
