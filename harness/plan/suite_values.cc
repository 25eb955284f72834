// The swept values of a suite or command line: size ranges, offered rates, and how many
// messages a rate benchmark sends (see suite.h).
#include <algorithm>
#include <cmath>

#include "harness/plan/suite.h"
#include "harness/run/rate.h"

namespace ipcb {

Result<std::vector<size_t>> parse_size_item(const std::string& text) {
  const size_t dots = text.find("..");
  if (dots == std::string::npos) {
    IPCB_TRY(size_t one, parse_size(text));
    return std::vector<size_t>{one};
  }
  IPCB_TRY(size_t first, parse_size(text.substr(0, dots)));
  IPCB_TRY(size_t last, parse_size(text.substr(dots + 2)));
  if (first > last) {
    return plain_error("size range '" + text + "'", "the first size is larger than the last");
  }
  std::vector<size_t> out;
  for (size_t z = first; z <= last; z *= 2) out.push_back(z);
  return out;
}

Result<std::pair<std::vector<uint64_t>, bool>> parse_rates(const std::vector<std::string>& texts) {
  std::pair<std::vector<uint64_t>, bool> out{{}, false};
  for (const auto& t : texts) {
    if (t == "sweep") {
      out.second = true;
      continue;
    }
    IPCB_TRY(uint64_t r, parse_rate(t));
    if (std::find(out.first.begin(), out.first.end(), r) == out.first.end()) {
      out.first.push_back(r);
    }
  }
  return out;
}

uint64_t rate_messages(uint64_t rate, double min_time_s) {
  constexpr double kTailMessages = 2000, kTailMaxS = 2.0;
  const double r = static_cast<double>(rate);
  const double n =
      std::max(std::ceil(r * min_time_s), std::min(kTailMessages, std::ceil(r * kTailMaxS)));
  return std::max<uint64_t>(1, static_cast<uint64_t>(n));
}

}  // namespace ipcb
