// spin waiter (see spin.h).
#include "backends/sync/spin.h"

#include "harness/sys/cpu_relax.h"

namespace ipcb {

Result<std::unique_ptr<Waiter>> make_spin_waiter(std::byte*, bool, const ChannelConfig&) {
  return make_polling_waiter("spin", [] { cpu_relax(); });
}

}  // namespace ipcb
