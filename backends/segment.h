// A named shared-memory region. The creator makes it exclusively (IPC_EXCL / O_EXCL, mode
// 0600, an unguessable name), records it in the manifest first, and is the only side that
// removes it; the opener finds it by name or key and only unmaps or detaches.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "harness/sys/error.h"

namespace ipcb {

class Segment {
 public:
  virtual ~Segment() = default;
  virtual std::span<std::byte> bytes() = 0;
  // The name, key or path the peer opens.
  virtual std::string object() const = 0;
  // Creator only: removes the name so no new opener can find it; the memory stays mapped until
  // both sides let go. Idempotent. Openers: no-op.
  virtual Status remove_name() = 0;
  // Descriptors the peer must inherit to open it (memfd); creator only, before remove_name().
  virtual std::vector<int> inherited_fds() const { return {}; }
};

struct SegmentKind {
  Result<std::unique_ptr<Segment>> (*create)(size_t bytes);
  // Opens by name; fails unless the object is at least `bytes` long.
  Result<std::unique_ptr<Segment>> (*open)(const std::string& object, size_t bytes);
};

// Shared by the segment kinds: fails unless an object of `actual` bytes can hold `wanted`.
Status check_segment_size(const std::string& object, size_t actual, size_t wanted);

}  // namespace ipcb
