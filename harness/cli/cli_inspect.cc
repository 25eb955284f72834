// See cli_inspect.h.
#include "harness/cli/cli_inspect.h"

#include <cstdio>

#include "backends/backend.h"
#include "backends/sync/waiter.h"
#include "harness/run/environment.h"
#include "harness/run/workload.h"
#include "harness/sys/manifest.h"

namespace ipcb {

int cmd_list() {
  std::printf("Backends (how the bytes travel):\n");
  for (const auto& b : backends()) std::printf("  %-14s %-6s %s\n", b.name, b.kind, b.description);
  std::printf("\nShared-memory waiters (how a side learns of progress):\n");
  for (const auto& w : waiters()) std::printf("  %-10s %s\n", w.name, w.description);
  std::printf("\nKernel-channel strategies:\n");
  std::printf("  %-10s %s\n", "block", "blocking calls (read/write, msgrcv, mq_timedreceive...)");
  std::printf("  %-10s %s\n", "poll", "O_NONBLOCK, then poll(2) until ready");
  std::printf("  %-10s %s\n", "busy", "O_NONBLOCK, retried in a loop; never sleeps");
  std::printf("\nCopy modes (shared-memory backends; kernel channels always copy):\n");
  std::printf("  %-10s %s\n", "copy", "copied into the ring, copied out: 2 copies per message");
  std::printf("  %-10s %s\n", "inplace", "built in the ring slot, checked in place: 0 copies");
  std::printf("\nPlacements:\n");
  std::printf("  %-10s %s\n", "cross", "the two sides pinned to different CPUs (default, 2+ CPUs)");
  std::printf("  %-10s %s\n", "same", "both sides pinned to one CPU");
  std::printf("  %-10s %s\n", "free", "not pinned: the scheduler decides");
  for (const auto& [name, what] : topology_placements()) {
    std::printf("  %-10s %s\n", name.c_str(), what.c_str());
  }
  std::printf("  (`ipcbench topology` shows which of these this machine allows, and why not)\n");
  std::printf("\nWorkloads:\n");
  for (const auto& w : workloads()) std::printf("  %-10s %s\n", w.name, w.description);
  std::printf("\nSize limits on this machine (checked against a 64 MiB payload):\n");
  for (const auto& b : backends()) {
    std::string why = b.size_limit(sizeof(FrameHeader) + kMaxPayload, 1, false);
    std::printf("  %-14s %s\n", b.name, why.empty() ? "64M payloads fit" : why.c_str());
  }
  std::vector<std::string> syncs;
  for (const auto& b : backends()) {
    for (const auto& s : b.syncs()) {
      if (std::find(syncs.begin(), syncs.end(), s) == syncs.end()) syncs.push_back(s);
    }
  }
  std::printf(
      "\nValid combinations (every workload runs on every valid "
      "pair):\n  %-14s",
      "");
  for (const auto& s : syncs) std::printf(" %-9s", s.c_str());
  std::printf("\n");
  for (const auto& b : backends()) {
    std::printf("  %-14s", b.name);
    for (const auto& s : syncs) std::printf(" %-9s", sync_valid_for(b, s) ? "yes" : "-");
    std::printf("\n");
  }
  return 0;
}

// Goes on past what it cannot remove; reports each, and exits 1 if anything was left.
int cmd_clean(bool dry_run) {
  auto r = manifest::clean(dry_run);
  if (!r) return usage_error(r.error().message());
  for (const auto& l : r->removed) {
    if (l.kind == manifest::Kind::kSysctl) {
      std::printf("%s sysctl %s to %s (owner pid %d is gone)\n",
                  dry_run ? "would restore" : "restored", l.name.c_str(),
                  l.extra.substr(l.extra.find(' ') + 1).c_str(), static_cast<int>(l.owner));
      continue;
    }
    std::printf("%s %s %s (owner pid %d is gone)\n", dry_run ? "would remove" : "removed",
                manifest::kind_name(l.kind), l.name.c_str(), static_cast<int>(l.owner));
  }
  for (const auto& [l, why] : r->dropped) {
    std::printf("left sysctl %s alone (%s; owner pid %d is gone)\n", l.name.c_str(), why.c_str(),
                static_cast<int>(l.owner));
  }
  for (const auto& [l, e] : r->failed) {
    std::fprintf(stderr, "ipcbench clean: cannot remove %s %s (owner pid %d is gone): %s\n",
                 manifest::kind_name(l.kind), l.name.c_str(), static_cast<int>(l.owner),
                 e.message().c_str());
  }
  for (const auto& path : r->unreadable) {
    std::fprintf(stderr,
                 "ipcbench clean: %s names no object ipcbench makes; %s (what it names was left "
                 "alone)\n",
                 path.c_str(), dry_run ? "it would be removed" : "removed the record");
  }
  if (r->removed.empty() && r->dropped.empty() && r->failed.empty() && r->unreadable.empty()) {
    std::printf("nothing to clean\n");
  }
  return r->failed.empty() && r->unreadable.empty() ? 0 : kExitFailed;
}

int cmd_limits(const LimitsArgs& a) {
  auto o = a.probe.options();
  if (!o) return usage_error(o.error().message());
  auto suite = load_suite(a.suite);
  if (!suite) return usage_error(suite.error().message());
  manifest::install_signal_handlers();
  limits::Limits l = limits::collect(*o);
  if (a.json) {
    std::printf("%s\n", limits::to_json(l).dump(2).c_str());
    return 0;
  }
  std::printf("%s", limits::format_table(l).c_str());
  auto cpus = choose_cpus("");
  if (!cpus) return usage_error(cpus.error().message());
  auto expansion = expand(*suite, *cpus);
  if (!expansion) return usage_error(expansion.error().message());
  skip_probed(l, *expansion);
  auto lines = limits::advice_lines(expansion->skipped);
  std::printf("\nSizes of suite '%s' these limits skip:%s\n", suite->name.c_str(),
              lines.empty() ? " none" : "");
  for (const auto& line : lines) std::printf("  %s\n", line.c_str());
  return 0;
}

}  // namespace ipcb
