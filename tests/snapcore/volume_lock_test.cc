// volume_lock_test.cc - Env::LockFile (POSIX and memory) and VolumeLock on
// top of it: a second writer of one volume is kBusy and told who holds it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "deltafile/io_memory.h"
#include "snapcore/volume_lock.h"

namespace ddl::test {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ddloop-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

void ExpectLockRules(Env* env, const std::string& path) {
  auto a = env->LockFile(path, false);
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = env->LockFile(path, false);
  ASSERT_TRUE(b.ok()) << "two shared holders coexist: " << b.status().message();
  auto x = env->LockFile(path, true);
  ASSERT_EQ(x.status().code(), Code::kBusy);
  EXPECT_EQ(x.status().message().rfind(path + ":", 0), 0u) << x.status().message();
  a.value().reset();
  EXPECT_EQ(env->LockFile(path, true).status().code(), Code::kBusy) << "one shared holder is left";
  b.value().reset();
  auto y = env->LockFile(path, true);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(env->LockFile(path, false).status().code(), Code::kBusy);
  EXPECT_EQ(env->LockFile(path, true).status().code(), Code::kBusy);
  y.value().reset();
  EXPECT_TRUE(env->LockFile(path, true).ok());
}

TEST(EnvLockFile, MemoryLocksConflictInOneProcess) {
  MemEnv env;
  ExpectLockRules(&env, "d/lock");
  EXPECT_TRUE(env.Exists("d/lock"));
}

TEST(EnvLockFile, PosixLocksConflictBetweenOpens) {
  std::string d = TempDir("envlock");
  ExpectLockRules(Env::Posix(), d + "/lock");
  fs::remove_all(d);
}

TEST(EnvLockFile, PosixRefusesASymbolicLink) {
  std::string d = TempDir("envlock-link");
  fs::create_symlink(d + "/elsewhere", d + "/lock");
  auto l = Env::Posix()->LockFile(d + "/lock", true);
  EXPECT_FALSE(l.ok());
  EXPECT_FALSE(fs::exists(d + "/elsewhere")) << "a lock file was created through a link";
  fs::remove_all(d);
}

void ExpectVolumeLockRules(Env* env, const std::string& dir) {
  EXPECT_EQ(vol::VolumeLockHolder(env, dir), "");
  auto a = vol::VolumeLock::Acquire(env, dir, "ddloop volume attach");
  ASSERT_TRUE(a.ok()) << a.status().message();
  const std::string who = "pid " + std::to_string(::getpid()) + " (ddloop volume attach)";
  EXPECT_EQ(vol::VolumeLockHolder(env, dir), who);
  auto b = vol::VolumeLock::Acquire(env, dir, "ddloop snapshot create");
  ASSERT_EQ(b.status().code(), Code::kBusy);  // exit 9
  EXPECT_EQ(b.status().message(), dir + ": in use by " + who);
  a.value()->Describe("ddloop volume revert");
  EXPECT_EQ(vol::VolumeLockHolder(env, dir), "pid " + std::to_string(::getpid()) + " (ddloop volume revert)");
  a.value().reset();
  EXPECT_EQ(vol::VolumeLockHolder(env, dir), "");
  auto c = vol::VolumeLock::Acquire(env, dir, "ddloop volume check");
  EXPECT_TRUE(c.ok()) << c.status().message();
}

TEST(VolumeLock, MemoryEnvTwoOpensOfOneVolumeConflict) {
  MemEnv env;
  ExpectVolumeLockRules(&env, "vol");
}

TEST(VolumeLock, PosixTwoOpensOfOneVolumeConflict) {
  std::string d = TempDir("vollock");
  ExpectVolumeLockRules(Env::Posix(), d);
  fs::remove_all(d);
}

TEST(VolumeLock, MissingVolumeIsAnIOError) {
  auto l = vol::VolumeLock::Acquire(Env::Posix(), "/nonexistent-ddloop-volume", "test");
  EXPECT_EQ(l.status().code(), Code::kIOError) << l.status().message();
}

}  // namespace
}  // namespace ddl::test
