// yield waiter (see yield.h).
#include "backends/sync/yield.h"

#include "harness/sys/sys_sync.h"

namespace ipcb {
namespace {

class YieldWaiter final : public Waiter {
 public:
  void notify() override {}
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return poll_until(ready, abort, [] { sys::yield_cpu(); });
  }
  const char* wait_mode() const override { return "yield"; }
  bool polls() const override { return true; }
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_yield_waiter(std::byte*, bool, const ChannelConfig&) {
  return std::unique_ptr<Waiter>(new YieldWaiter());
}

}  // namespace ipcb
