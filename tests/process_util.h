// Test helpers: run the ipcbench binary with a deadline, and snapshot the IPC objects that
// exist on the machine so a test can prove a run left nothing behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace ipcb::test {

struct Outcome {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
  double seconds = 0;
};

// Runs IPCBENCH_BIN with args and extra environment ("K=V"); kills it after timeout_s.
Outcome run_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     double timeout_s);

// Starts IPCBENCH_BIN in the background (output to DIR/stdout and DIR/stderr, every object it
// makes journaled); returns its pid. In the new process `prepare` (if given) runs first, before
// the environment is set: a private namespace, a read-only /dev/shm, a sysctl. Its false return
// ends the process with status 126.
pid_t start_ipcbench(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const std::string& dir, const std::function<bool()>& prepare = nullptr);
// Waits up to timeout_s for pid; returns the wait status, or -1 on timeout (then kills it).
int wait_with_deadline(pid_t pid, double timeout_s, double* seconds);
// Waits for a run started with its output in `dir` (killed after timeout_s, its err then
// `timed_out`), returns how it ended with its output, and removes `dir`.
Outcome collect_run(pid_t pid, const std::string& dir, double timeout_s,
                    const std::string& timed_out);
std::vector<pid_t> children_of(pid_t pid);
std::string read_file(const std::string& path);

// The IPC objects of this test program's ipcbench runs that still exist, and every entry of
// `extra_dirs`. Runs started by start_ipcbench / run_ipcbench append every object they create to
// one journal ($IPCBENCH_JOURNAL, see harness/sys/manifest.h); an object counts while it exists
// (SysV key still in /proc/sysvipc, name still in /dev/shm or /dev/mqueue, path still there).
// Objects of other programs on the machine never count. /dev/shm and /dev/mqueue entries whose
// name carries the pid of one of our runs count too, journaled or not.
std::set<std::string> ipc_snapshot(const std::vector<std::string>& extra_dirs);
// The same check for one journal and one set of run pids (e.g. a single run of a test that
// starts several at once, so a leftover is attributed to the run that left it).
std::set<std::string> live_objects(const std::string& journal, const std::set<pid_t>& pids,
                                   const std::vector<std::string>& extra_dirs);
// The journal file every run of this test program writes to (mode 0666, so a run as another
// user can append to it).
const std::string& journal_path();
// Pids of every ipcbench process this test program started; note_started adds one started by
// other means (give such a run "IPCBENCH_JOURNAL=" + journal_path() in its environment). Both
// are safe to call from several threads (the fault tests start runs concurrently).
std::set<pid_t> started_pids();
void note_started(pid_t pid);

std::string make_temp_dir(const std::string& tag);

// A test of runs of the real binary: every test gets its own manifest folder (and mmap folder),
// named with `tag`, and an output folder; env_ points the runs at them. A test fails when its
// runs left an IPC object or a manifest record behind (ipc_snapshot of its folders).
class RunFolders : public ::testing::Test {
 protected:
  struct Options {
    std::string tag;               // the start of the folders' names ("" for manifest-...)
    bool mmap = true;              // an IPCBENCH_MMAP_DIR folder too
    std::vector<std::string> env;  // more environment for every run ("K=V")
    std::string leftover = "the run left IPC objects behind";  // the failure's message
  };
  RunFolders() = default;
  explicit RunFolders(Options options) : options_(std::move(options)) {}
  void SetUp() override;
  void TearDown() override;

  std::string manifest_, mmap_, out_;
  std::vector<std::string> env_;
  std::set<std::string> before_;

 private:
  std::vector<std::string> watched() const;
  Options options_;
};

}  // namespace ipcb::test
