// yield waiter (see yield.h).
#include "backends/sync/yield.h"

#include "harness/sys/sys_sync.h"

namespace ipcb {

Result<std::unique_ptr<Waiter>> make_yield_waiter(std::byte*, bool, const ChannelConfig&) {
  return make_polling_waiter("yield", [] { sys::yield_cpu(); });
}

}  // namespace ipcb
