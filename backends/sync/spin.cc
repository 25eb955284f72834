// spin waiter (see spin.h).
#include "backends/sync/spin.h"

#include "harness/sys/cpu_relax.h"

namespace ipcb {
namespace {

class SpinWaiter final : public Waiter {
 public:
  void notify() override {}
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    return poll_until(ready, abort, [] { cpu_relax(); });
  }
  const char* wait_mode() const override { return "spin"; }
  bool polls() const override { return true; }
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_spin_waiter(std::byte*, bool, const ChannelConfig&) {
  return std::unique_ptr<Waiter>(new SpinWaiter());
}

}  // namespace ipcb
