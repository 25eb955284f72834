// libFuzzer entry point of the shared-memory fuzz targets: the first input byte picks the
// structure (ring, broadcast ring, frame checks, slot ring), the rest is that target's script.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ipcb::fuzz::Input in(data, size);
  switch (in.u8() % 4) {
    case 0:
      ipcb::fuzz::ring(in);
      break;
    case 1:
      ipcb::fuzz::broadcast_ring(in);
      break;
    case 2:
      ipcb::fuzz::frame(in);
      break;
    default:
      ipcb::fuzz::slot_ring(in);
      break;
  }
  return 0;
}
