// What probe.cc and probe_msg.cc share: the recorded object of a probe, and the bisection.
// Not for other files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "harness/limits/probe.h"
#include "harness/sys/manifest.h"

namespace ipcb::probe::detail {

// One object of a probe: recorded in the manifest before it is created, removed (by its name or
// key) and released when this goes out of scope. Move-only.
class Recorded {
 public:
  static Result<Recorded> make(manifest::Kind kind, std::string name) {
    IPCB_TRY(int record, manifest::record(kind, name));
    return Recorded(kind, std::move(name), record);
  }
  Recorded(Recorded&& o) noexcept : kind_(o.kind_), name_(std::move(o.name_)), record_(o.record_) {
    o.record_ = -1;
  }
  Recorded& operator=(Recorded&&) = delete;
  Recorded(const Recorded&) = delete;
  ~Recorded() {
    if (record_ < 0) return;
    (void)manifest::remove_object(kind_, name_);
    manifest::release(record_);
  }
  // The creation failed (maybe because the name is someone else's): nothing of ours to remove.
  void forget() {
    manifest::release(record_);
    record_ = -1;
  }

 private:
  Recorded(manifest::Kind kind, std::string name, int record)
      : kind_(kind), name_(std::move(name)), record_(record) {}
  manifest::Kind kind_;
  std::string name_;
  int record_;
};

// An attempt at x: 0 if accepted, else the errno that rejected it; an Error if the attempt
// could not be made at all.
using Attempt = std::function<Result<int>(uint64_t x)>;
constexpr int kKeyDraws = 8;  // random SysV keys tried before giving up on collisions

bool past(const Budget& b);  // the probe's time is up
key_t random_key();          // a random SysV key, never IPC_PRIVATE
double seconds_since(uint64_t t0);
// The largest x in [lo, ceiling] accepted, assuming that what is accepted at x is accepted
// below it. Tries the ceiling first (one attempt when it fits), then bisects.
Found largest_accepted(uint64_t lo, uint64_t ceiling, const std::string& ceiling_reason,
                       const char* call, const Budget& b, const Attempt& attempt);

}  // namespace ipcb::probe::detail
