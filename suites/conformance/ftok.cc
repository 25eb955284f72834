// Does ftok(3) turn a file's identity and a project id into System V keys as documented here:
// stable per file and id, different across ids and files, errors as for stat(2).
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "suites/conformance/conform.h"

namespace ipcb::conform {
namespace {

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  return static_cast<bool>(f << text);
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

// A fresh private directory for each test, with the file `path` ("key", holding "x") in it and
// `key`, its ftok(3) key for proj_id 'A'.
class Ftok : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_file(path, "x"));
    key = ::ftok(path.c_str(), 'A');
    ASSERT_NE(key, -1) << std::strerror(errno);
  }
  TempDir dir;
  std::string path = dir.file("key");
  key_t key = -1;
};

// ftok(3): the same pathname and proj_id give the same key, every time.
TEST_F(Ftok, SamePathAndIdGiveSameKey) {
  CONFORM_MAN("ftok(3)");
  EXPECT_EQ(::ftok(path.c_str(), 'A'), key);
}

// ftok(3): the key follows the file and the project id: every name of one file (a hard link,
// a symbolic link, a path through ".") gives the file's key; another proj_id on the same file
// gives another key; a missing file fails with -1 and errno as for stat(2): ENOENT.
TEST_F(Ftok, KeyFollowsFileIdentityAndProjectId) {
  CONFORM_MAN("ftok(3)");
  CONFORM_ROWS("U01");
  ASSERT_EQ(::link(path.c_str(), dir.file("hard").c_str()), 0) << std::strerror(errno);
  ASSERT_EQ(::symlink(path.c_str(), dir.file("soft").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(::ftok(dir.file("hard").c_str(), 'A'), key);
  EXPECT_EQ(::ftok(dir.file("soft").c_str(), 'A'), key);
  EXPECT_EQ(::ftok((dir.path() + "/./key").c_str(), 'A'), key);
  key_t other = ::ftok(path.c_str(), 'B');
  EXPECT_NE(other, -1) << std::strerror(errno);
  EXPECT_NE(other, key);
  EXPECT_EQ(failed_with(::ftok(dir.file("absent").c_str(), 'A')), ENOENT);
}

// ftok(3): simultaneously existing different files give different keys (same proj_id).
TEST_F(Ftok, DifferentFilesGiveDifferentKeys) {
  CONFORM_MAN("ftok(3)");
  ASSERT_TRUE(write_file(dir.file("one"), "1"));
  ASSERT_TRUE(write_file(dir.file("two"), "2"));
  if ((inode_of(dir.file("one")) & 0xffff) == (inode_of(dir.file("two")) & 0xffff)) {
    CONFORM_SKIP("the two files' inode numbers share their low 16 bits (a documented collision)");
  }
  EXPECT_NE(::ftok(dir.file("one").c_str(), 'A'), ::ftok(dir.file("two").c_str(), 'A'));
}

// ftok(3): only the least significant 8 bits of proj_id are used.
TEST_F(Ftok, OnlyLowEightBitsOfIdAreUsed) {
  CONFORM_MAN("ftok(3)");
  EXPECT_EQ(::ftok(path.c_str(), 0x141), key);  // 'A' is 0x41
  EXPECT_EQ(::ftok(path.c_str(), 0x7f41), key);
}

// ftok(3) NOTES: the key combines the proj_id byte, the low 8 bits of the device number and
// the low 16 bits of the inode number (glibc: id << 24 | dev << 16 | ino).
TEST_F(Ftok, KeyCombinesIdDeviceAndInode) {
  CONFORM_MAN("ftok(3)");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << std::strerror(errno);
  auto want =
      static_cast<key_t>((0x5aU << 24) | ((st.st_dev & 0xffU) << 16) | (st.st_ino & 0xffffU));
  EXPECT_EQ(::ftok(path.c_str(), 0x5a), want);
}

// ftok(3): the key depends on the file's identity, not its contents: rewriting it in place
// keeps the key.
TEST_F(Ftok, RewritingContentsKeepsKey) {
  CONFORM_MAN("ftok(3)");
  ASSERT_TRUE(write_file(path, "after, and longer"));
  EXPECT_EQ(::ftok(path.c_str(), 'A'), key);
}

// ftok(3): the key follows the file's identity: replacing the file by a new one (a new inode)
// under the same name changes the key.
TEST_F(Ftok, ReplacedFileChangesKey) {
  CONFORM_MAN("ftok(3)");
  ino_t old_ino = inode_of(path);
  ASSERT_TRUE(write_file(dir.file("new"), "new"));  // exists alongside: a different inode
  ASSERT_EQ(::rename(dir.file("new").c_str(), path.c_str()), 0) << std::strerror(errno);
  ino_t new_ino = inode_of(path);
  ASSERT_NE(new_ino, old_ino);
  if ((new_ino & 0xffff) == (old_ino & 0xffff)) {
    CONFORM_SKIP("old and new inode numbers share their low 16 bits (a documented collision)");
  }
  EXPECT_NE(::ftok(path.c_str(), 'A'), key);
}

// ftok(3): a path through a non-directory fails as stat(2) does: ENOTDIR.
TEST_F(Ftok, PathThroughFileFailsEnotdir) {
  CONFORM_MAN("ftok(3)");
  ASSERT_TRUE(write_file(dir.file("plain"), "x"));
  EXPECT_EQ(failed_with(::ftok((dir.file("plain") + "/below").c_str(), 'A')), ENOTDIR);
}

// ftok(3): without search permission on a directory of the path, fails as stat(2): EACCES;
// with the search bit granted, the same call by the same user gives the key.
TEST_F(Ftok, NoSearchPermissionFailsEacces) {
  CONFORM_MAN("ftok(3)");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0) << std::strerror(errno);
  std::string locked = dir.file("locked");
  ASSERT_EQ(::mkdir(locked.c_str(), 0700), 0) << std::strerror(errno);
  ASSERT_TRUE(write_file(locked + "/key", "x"));
  ASSERT_EQ(::chmod(locked.c_str(), 0600), 0) << std::strerror(errno);  // no search (x) bit
  Cleanup unlock([locked] { ::chmod(locked.c_str(), 0700); });
  std::string path = locked + "/key";
  auto attempt = [&path] {
    return run_in_child([&path] {
      if (is_root() && !drop_to_nobody()) return kSetupFailed;  // root bypasses the check
      return failed_with(::ftok(path.c_str(), 'A'));
    });
  };
  EXPECT_EQ(attempt().describe(), exited_with(EACCES));
  ASSERT_EQ(::chmod(locked.c_str(), 0701), 0) << std::strerror(errno);  // search for all
  EXPECT_EQ(attempt().describe(), exited_with(0));
}

}  // namespace ipcb::conform
