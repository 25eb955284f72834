// adaptive waiter (see adaptive.h).
#include "backends/sync/adaptive.h"

#include "backends/sync/futex.h"
#include "harness/sys/cpu_relax.h"
#include "harness/sys/sys.h"

namespace ipcb {
namespace {

constexpr uint64_t kMaxSpinNs = Waiter::kSliceNs;  // beyond a slice, `abort` would go unseen
constexpr unsigned kChecksPerClockRead = 16;       // reading the clock costs ~20 pauses

class AdaptiveWaiter final : public FutexWaiter {
 public:
  AdaptiveWaiter(std::byte* slot, uint64_t spin_ns) : FutexWaiter(slot), spin_ns_(spin_ns) {}

  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    // The clock is first read after kChecksPerClockRead checks, so a wait that ends at once
    // costs no clock read; the spin budget counts from there.
    uint64_t end = 0;
    for (unsigned i = 1;; ++i) {
      if (ready()) return true;
      if (i % kChecksPerClockRead == 0) {
        uint64_t now = sys::now_ns();
        if (end == 0) {
          end = now + spin_ns_;
        } else if (now >= end) {
          break;
        }
      }
      cpu_relax();
    }
    return FutexWaiter::wait(ready, abort);  // checks `abort` before it sleeps
  }
  const char* wait_mode() const override { return "adaptive"; }

 private:
  uint64_t spin_ns_;
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_adaptive_waiter(std::byte* slot, bool,
                                                     const ChannelConfig& config) {
  if (config.spin_ns > kMaxSpinNs) {
    return plain_error("adaptive", "the spin must be at most " + std::to_string(kMaxSpinNs) +
                                       " ns (--spin-us), got " + std::to_string(config.spin_ns) +
                                       " ns");
  }
  return std::unique_ptr<Waiter>(new AdaptiveWaiter(slot, config.spin_ns));
}

}  // namespace ipcb
