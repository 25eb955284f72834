// Manifest: an object whose owner died without cleaning up is found and removed by clean();
// objects of live owners are left alone.
#include "harness/sys/manifest.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "harness/sys/sys.h"

namespace ipcb {
namespace {

class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("ipcbench-manifest-test-" + sys::random_hex(6));
    std::filesystem::create_directory(dir_);
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    setenv("IPCBENCH_MANIFEST_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("IPCBENCH_MANIFEST_DIR");
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(ManifestTest, CleanRemovesObjectsOfDeadOwnersOnly) {
  std::string dead_name = sys::owned_name("/ipcbench-");
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // A run that records and creates an object, then dies without cleaning up (like SIGKILL).
    if (!manifest::record(manifest::Kind::kPosixShm, dead_name).ok()) _exit(2);
    if (!sys::shm_create_excl(dead_name).ok()) _exit(3);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(std::filesystem::exists("/dev/shm" + dead_name));

  std::string live_name = sys::owned_name("/ipcbench-");
  auto rec = manifest::record(manifest::Kind::kPosixShm, live_name);
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(sys::shm_create_excl(live_name).ok());

  auto dry = manifest::clean(/*dry_run=*/true);
  ASSERT_TRUE(dry.ok());
  ASSERT_EQ(dry->removed.size(), 1u);
  EXPECT_EQ(dry->removed[0].name, dead_name);
  EXPECT_TRUE(std::filesystem::exists("/dev/shm" + dead_name)) << "dry run removed something";

  auto done = manifest::clean(/*dry_run=*/false);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->removed.size(), 1u);
  EXPECT_TRUE(done->failed.empty());
  EXPECT_FALSE(std::filesystem::exists("/dev/shm" + dead_name));
  EXPECT_TRUE(std::filesystem::exists("/dev/shm" + live_name))
      << "a live owner's object was removed";

  ASSERT_TRUE(manifest::remove_object(manifest::Kind::kPosixShm, live_name).ok());
  manifest::release(*rec);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace ipcb
