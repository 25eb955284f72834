// The manifest's signal handlers, guarded shared mappings and emergency exit (see manifest.h).
// Everything a handler touches is a fixed array of atomics; handlers only make syscalls.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>

#include "harness/sys/manifest_table.h"

namespace ipcb::manifest {
namespace {

// Signals whose default action ends the process without a core: cleanup, then die of it.
constexpr int kTerminating[] = {SIGINT,    SIGTERM, SIGHUP,  SIGQUIT, SIGUSR1, SIGUSR2,   SIGALRM,
                                SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGPWR,  SIGSTKFLT, SIGIO};
// Signals of a crash: cleanup, then the previous handler (a sanitizer's report) or the default.
constexpr int kCrash[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

struct sigaction g_previous[65];  // the handler before ours, per signal (written at install)

constexpr int kMaxGuards = 256;
struct Guard {
  std::atomic<uintptr_t> start{0};
  std::atomic<size_t> len{0};
};
Guard g_guards[kMaxGuards];
std::atomic<uint64_t> g_guarded_faults{0};
std::atomic<bool> g_guarded_exit{false};
std::atomic<bool> g_installed{false};
std::atomic<pid_t> g_handler_pid{0};    // a forked child (a test's) must not clean up for us
std::atomic<bool> g_kill_group{false};  // adopt_after_fork(true): take our process group along

bool ours() {
  return ::getpid() == g_handler_pid.load();
}

void say(const char* text) {
  ssize_t r = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)r;
}

bool in_guarded_mapping(uintptr_t addr) {
  for (const auto& g : g_guards) {
    uintptr_t s = g.start.load(std::memory_order_acquire);
    if (s != 0 && addr >= s && addr - s < g.len.load(std::memory_order_acquire)) return true;
  }
  return false;
}

void on_terminating(int sig) {
  if (ours()) {
    kill_peers_and_remove_all();
    if (g_kill_group.load()) ::kill(0, SIGKILL);  // we lead the group: we die with it
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // delivered when we return: the process dies of the signal it got
}

void on_crash(int sig, siginfo_t* info, void*) {
  if (ours() && (sig == SIGBUS || sig == SIGSEGV) && info != nullptr &&
      in_guarded_mapping(reinterpret_cast<uintptr_t>(info->si_addr))) {
    if (g_guarded_exit.load()) {
      say(sig == SIGBUS ? "SIGBUS inside the shared segment: another process truncated it or "
                          "its memory could not be provided\n"
                        : "SIGSEGV inside the shared segment\n");
      kill_peers_and_remove_all();
      ::_exit(3);
    }
    // The page is gone from the object: a private zero page stands in for it, the access
    // completes, and the run fails cleanly once the watchdog sees the count change.
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    void* at = reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(info->si_addr) & ~(page - 1));
    if (::mmap(at, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
        MAP_FAILED) {
      g_guarded_faults.fetch_add(1);
      return;
    }
  }
  if (ours()) kill_peers_and_remove_all();
  ::sigaction(sig, &g_previous[sig], nullptr);
  // A fault re-executes and now meets the previous handler; a raised signal (abort) is raised
  // again, delivered when we return.
  if (info == nullptr || info->si_code <= 0 || sig == SIGABRT) ::raise(sig);
}

[[noreturn]] void on_terminate() {
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::fprintf(stderr, "ipcbench: fatal: uncaught exception: %s\n", x.what());
    } catch (...) {
      std::fprintf(stderr, "ipcbench: fatal: uncaught exception\n");
    }
  }
  if (ours()) kill_peers_and_remove_all();
  std::abort();
}

}  // namespace

void install_signal_handlers() {
  if (g_installed.exchange(true)) return;
  g_handler_pid.store(::getpid());
  struct sigaction sa {};
  sa.sa_handler = on_terminating;
  sigemptyset(&sa.sa_mask);
  for (int s : kTerminating) sigaddset(&sa.sa_mask, s);
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) sigaddset(&sa.sa_mask, s);
  for (int s : kTerminating) ::sigaction(s, &sa, nullptr);
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) ::sigaction(s, &sa, nullptr);
  struct sigaction crash {};
  crash.sa_sigaction = on_crash;
  crash.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&crash.sa_mask);
  for (int s : kCrash) ::sigaction(s, &crash, &g_previous[s]);
  ::signal(SIGPIPE, SIG_IGN);
  std::set_terminate(on_terminate);
}

void adopt_after_fork(bool kill_group) {
  install_signal_handlers();
  for (auto& e : g_entries) e.in_use.store(false);  // the parent's: its records stay its own
  for (auto& p : g_peers) p.store(0);
  g_kill_group.store(kill_group && ::getpgrp() == ::getpid());  // never the parent's group
  g_handler_pid.store(::getpid());
}

void guard_mapping(const void* start, size_t len) {
  // Registered before the mapping is used, so no fault can race with the two stores.
  for (auto& g : g_guards) {
    uintptr_t expected = 0;
    if (g.start.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(start))) {
      g.len.store(len, std::memory_order_release);
      return;
    }
  }
}

void unguard_mapping(const void* start) {
  for (auto& g : g_guards) {
    if (g.start.load() != reinterpret_cast<uintptr_t>(start)) continue;
    g.len.store(0);
    g.start.store(0);
    return;
  }
}

uint64_t guarded_faults() {
  return g_guarded_faults.load();
}

void set_guarded_fault_exit(bool exit_at_once) {
  g_guarded_exit.store(exit_at_once);
}

void emergency_exit(const std::string& why) {
  std::fprintf(stderr, "ipcbench: %s\n", why.c_str());
  std::fflush(stderr);
  kill_peers_and_remove_all();
  ::_exit(1);
}

}  // namespace ipcb::manifest
