// sleep waiter (see sleep.h).
#include "backends/sync/sleep.h"

#include <algorithm>

#include "harness/sys/sys.h"

namespace ipcb {
namespace {

constexpr uint64_t kMaxNapNs = 1'000'000'000;  // longer naps are a typo, not a strategy

class SleepWaiter final : public Waiter {
 public:
  explicit SleepWaiter(uint64_t nap_ns) : nap_ns_(nap_ns) {}
  void notify() override {}
  Result<bool> wait(ReadyFn ready, const std::atomic<bool>& abort) override {
    for (;;) {
      if (ready()) return true;
      // A nap longer than a slice is taken in slices, so `abort` is seen within one.
      for (uint64_t left = nap_ns_; left > 0;) {
        if (abort.load(std::memory_order_acquire))
          return ready();  // the peer may have answered, then exited
        uint64_t nap = std::min(left, Waiter::kSliceNs);
        sys::sleep_ns(nap);
        left -= nap;
      }
    }
  }
  const char* wait_mode() const override { return "sleep"; }
  bool polls() const override { return true; }

 private:
  uint64_t nap_ns_;
};

}  // namespace

Result<std::unique_ptr<Waiter>> make_sleep_waiter(std::byte*, bool, const ChannelConfig& config) {
  if (config.sleep_ns == 0 || config.sleep_ns > kMaxNapNs) {
    return plain_error("sleep", "the nap must be between 1 ns and 1 s (--sleep-us), got " +
                                    std::to_string(config.sleep_ns) + " ns");
  }
  return std::unique_ptr<Waiter>(new SleepWaiter(config.sleep_ns));
}

}  // namespace ipcb
