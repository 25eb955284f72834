// The rate workload's schedule, correction, back-pressure count and pacer (see rate.h).
#include "harness/run/rate.h"

#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "harness/sys/cpu_relax.h"
#include "harness/sys/sys.h"
#include "harness/sys/sys_sync.h"

namespace ipcb {

Result<uint64_t> parse_rate(const std::string& text) {
  auto bad = [&](const std::string& why) { return plain_error("rate '" + text + "'", why); };
  size_t i = 0;
  uint64_t whole = 0, frac = 0, frac_div = 1;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    whole = whole * 10 + static_cast<uint64_t>(text[i] - '0');
    if (whole > kMaxRate) return bad("above the highest rate, 1G messages per second");
    ++i;
  }
  if (i == 0) return bad("not a number of messages per second (examples: 500, 10k, 2.5M)");
  if (i < text.size() && text[i] == '.') {
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (frac_div >= 1'000'000'000) return bad("too many decimals");
      frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
      frac_div *= 10;
    }
  }
  const std::string suffix = text.substr(i);
  uint64_t unit = 1;
  if (suffix == "k" || suffix == "K") {
    unit = 1'000;
  } else if (suffix == "M") {
    unit = 1'000'000;
  } else if (suffix == "G") {
    unit = 1'000'000'000;
  } else if (!suffix.empty()) {
    return bad("unknown suffix (k, M, G: powers of 1000 messages per second)");
  }
  if (frac != 0 && (frac * unit) % frac_div != 0) return bad("not a whole number of messages");
  const unsigned __int128 v = static_cast<unsigned __int128>(whole) * unit + frac * unit / frac_div;
  if (v == 0) return bad("a rate must be at least 1 message per second");
  if (v > kMaxRate) return bad("above the highest rate, 1G messages per second");
  return static_cast<uint64_t>(v);
}

std::string rate_label(uint64_t rate) {
  static const std::pair<uint64_t, const char*> kUnits[] = {
      {1'000'000'000, "G"}, {1'000'000, "M"}, {1'000, "k"}};
  for (const auto& [unit, suffix] : kUnits) {
    if (rate < unit) continue;
    if (rate % unit == 0) return std::to_string(rate / unit) + suffix;
    if ((rate * 10) % unit == 0) {
      return std::to_string(rate / unit) + "." + std::to_string(rate % unit * 10 / unit) + suffix;
    }
  }
  return std::to_string(rate);
}

uint64_t PaceSchedule::due_by(uint64_t t_ns) const {
  if (t_ns < t0_) return 0;
  // due(k) <= t  <=>  k * 1e9 / rate < t - t0 + 1  <=>  k < (t - t0 + 1) * rate / 1e9.
  const unsigned __int128 x = static_cast<unsigned __int128>(t_ns - t0_ + 1) * rate_;
  return static_cast<uint64_t>((x + 999'999'999u) / 1'000'000'000u);
}

void PacedLatency::record(uint64_t send_ns, uint64_t now_ns) {
  if (k_ == 0) schedule_ = PaceSchedule(send_ns, rate_);
  const uint64_t due = schedule_.due(k_++);
  corrected_.record(now_ns > due ? now_ns - due : 0);
  uncorrected_.record(now_ns > send_ns ? now_ns - send_ns : 0);
}

void PaceStats::on_send(const PaceSchedule& s, uint64_t k, uint64_t total, uint64_t sent_ns,
                        uint64_t returned_ns) {
  const uint64_t due = s.due(k);
  lag.record(sent_ns > due ? sent_ns - due : 0);
  // Messages k+1.. whose due time fell inside this call: due after it began, by its return.
  // (Every earlier message was due by the time this one was sent.)
  const uint64_t by_return = std::min(s.due_by(returned_ns), total);
  const uint64_t by_start = std::max(std::min(s.due_by(sent_ns), total), k + 1);
  if (by_return > by_start) backpressured += by_return - by_start;
}

Pacer::Pacer(bool yield) : yield_(yield) {
  // The default slack (50 µs) would let every sleep end that much late.
  old_slack_ = sys::timer_slack_ns();
  sys::set_timer_slack_ns(1);
}

Pacer::~Pacer() {
  if (old_slack_ > 0) sys::set_timer_slack_ns(static_cast<unsigned long>(old_slack_));
}

uint64_t Pacer::margin_ns() const {
  return std::clamp<uint64_t>(2 * overshoot_ns_, 5'000, 500'000);
}

uint64_t Pacer::wait_until(uint64_t due_ns, uint64_t now_ns) {
  if (now_ns >= due_ns) return now_ns;
  uint64_t now = now_ns;
  const uint64_t margin = margin_ns();
  if (due_ns - now > margin) {
    const uint64_t target = due_ns - margin;
    sys::sleep_until_ns(target);  // EINTR: the clock decides
    now = sys::now_ns();
    if (now > target) {
      const uint64_t over = now - target;
      overshoot_ns_ = overshoot_ns_ - overshoot_ns_ / 16 + over / 16;
    }
    if (now >= due_ns) return now;
  }
  const uint64_t polling_since = now;
  while (now < due_ns) {
    if (yield_) {
      sys::yield_cpu();
    } else {
      cpu_relax();
    }
    now = sys::now_ns();
  }
  polled_ns_ += now - polling_since;
  return now;
}

std::vector<uint64_t> sweep_rates(double capacity) {
  // The 1-2-5 ladder value at index i: 1, 2, 5, 10, 20, 50, ...
  auto ladder = [](int i) {
    static const uint64_t kSteps[] = {1, 2, 5};
    uint64_t v = kSteps[i % 3];
    for (int e = 0; e < i / 3; ++e) v *= 10;
    return v;
  };
  int i = 12;  // 10k
  if (!std::isfinite(capacity) || capacity <= 0) return {ladder(i)};
  while (i > 0 && static_cast<double>(ladder(i)) > capacity / 20) --i;
  std::vector<uint64_t> out;
  for (; ladder(i) <= kMaxRate; ++i) {
    out.push_back(ladder(i));
    if (static_cast<double>(ladder(i)) >= 2 * capacity) break;
  }
  return out;
}

}  // namespace ipcb
