// The capacity probe and expansion of rate sweeps (see rate_sweep.h).
#include "harness/plan/rate_sweep.h"

#include <algorithm>

#include "harness/plan/suite.h"
#include "harness/run/rate.h"
#include "harness/run/workload.h"

namespace ipcb {
namespace {

// A loop of a fixed number of iterations, outside Google Benchmark.
class CountLoop final : public Loop {
 public:
  explicit CountLoop(uint64_t n) : n_(n) {}
  bool next() override { return done_ < n_ ? (++done_, true) : false; }
  uint64_t planned() const override { return n_; }
  void add_time(uint64_t) override {}

 private:
  uint64_t n_, done_ = 0;
};

// Messages per second a closed-loop stream of `messages` achieved, over a fresh session.
Result<double> stream_rate(const BenchSpec& spec, uint64_t messages) {
  const WorkloadInfo* w = find_workload("stream");
  IPCB_TRY(auto session, Session::start(spec, w->peer_role, w->one_write));
  CountLoop loop(messages);
  auto m = w->measure(*session, loop);
  if (!m) return session->with_peer_state(m.error());
  if (m->errors != 0)
    return plain_error("capacity probe", "verification failed: " + m->first_error);
  if (m->elapsed_ns == 0) return plain_error("capacity probe", "no time elapsed");
  return static_cast<double>(m->messages) * 1e9 / static_cast<double>(m->elapsed_ns);
}

// A first short run sizes a second of about 0.1 s, whose rate is the capacity.
Result<double> capacity_of(const BenchSpec& sweep) {
  BenchSpec spec = sweep;
  spec.workload = "stream";
  spec.rate = 0;
  spec.sweep = false;
  spec.fixed_iterations = 0;
  spec.inject_ns = sweep.inject_ns;
  auto pinned =
      spec.placement.cpu_self >= 0 ? sys::pin_to_cpu(0, spec.placement.cpu_self) : ok_status();
  IPCB_TRY_STATUS(pinned);
  IPCB_TRY(double first, stream_rate(spec, 2000));
  const auto n = static_cast<uint64_t>(std::clamp(first * 0.1, 2000.0, 5e6));
  return stream_rate(spec, n);
}

}  // namespace

std::vector<SweepProbe> expand_rate_sweeps(std::vector<BenchSpec>& specs, double min_time_s) {
  std::vector<SweepProbe> probes;
  if (std::none_of(specs.begin(), specs.end(), [](const BenchSpec& s) { return s.sweep; })) {
    return probes;
  }
  const std::vector<int> allowed = sys::allowed_cpus();
  std::vector<BenchSpec> out;
  for (auto& spec : specs) {
    if (!spec.sweep) {
      out.push_back(std::move(spec));
      continue;
    }
    SweepProbe p;
    p.name = spec.name();
    const uint64_t t0 = sys::now_ns();
    auto capacity = capacity_of(spec);
    p.seconds = static_cast<double>(sys::now_ns() - t0) * 1e-9;
    if (!capacity) {
      p.error = "capacity probe (closed-loop stream) failed: " + capacity.error().message();
      out.push_back(std::move(spec));  // stays a sweep: the caller fails it with p.error
      probes.push_back(std::move(p));
      continue;
    }
    p.capacity = *capacity;
    p.rates = sweep_rates(p.capacity);
    for (uint64_t r : p.rates) {
      BenchSpec one = spec;
      one.sweep = false;
      one.rate = r;
      one.probed_capacity = p.capacity;
      one.fixed_iterations = rate_messages(r, min_time_s);
      out.push_back(std::move(one));
    }
    probes.push_back(std::move(p));
  }
  (void)sys::pin_to_cpus(0, allowed);
  specs = std::move(out);
  return probes;
}

}  // namespace ipcb
