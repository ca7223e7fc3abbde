// serve_dir_test.cc - replica serve's files without root: DIR/current moved
// by one rename (never missing, never a half link), what a killed serve
// left, the manifest watch waking on the manifest only, and Serve's
// refusals before it serves anything.
#include "replica/serve_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "replica/manifest_watch.h"
#include "replica/serve.h"
#include "snapcore/volume.h"
#include "tests/attach/run_dir.h"

namespace ddl::replica {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class ServeDir : public ::testing::Test {
 protected:
  std::string Dir() const { return run_.dir(); }
  std::string Current() const { return run_.dir() + "/current"; }
  attach::TempRunDir run_;
};

TEST_F(ServeDir, PointCurrentReplacesTheLinkInOneRename) {
  EXPECT_EQ(CurrentUuid(Dir()), "");
  ASSERT_TRUE(PointCurrent(Dir(), "aaaa").ok());
  EXPECT_EQ(fs::read_symlink(Current()).string(), ".snapshots/aaaa");  // relative
  EXPECT_EQ(CurrentUuid(Dir()), "aaaa");

  // A reader looking at DIR/current all along sees the old link or the new
  // one, never nothing (no unlink before the new link is in place).
  std::atomic<bool> done{false}, missing{false};
  std::thread watcher([&] {
    char buf[256];
    while (!done)
      if (::readlink(Current().c_str(), buf, sizeof buf) <= 0) missing = true;
  });
  for (int i = 0; i < 300; i++) ASSERT_TRUE(PointCurrent(Dir(), i % 2 ? "aaaa" : "bbbb").ok());
  done = true;
  watcher.join();
  EXPECT_FALSE(missing);
  EXPECT_EQ(CurrentUuid(Dir()), "aaaa");  // the last, i = 299
  // No temp link is left beside it.
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(Dir())) entries += e.path().filename() != "run";
  EXPECT_EQ(entries, 1u);

  ASSERT_TRUE(RemoveCurrent(Dir()).ok());
  EXPECT_FALSE(fs::is_symlink(Current()));
  EXPECT_TRUE(RemoveCurrent(Dir()).ok());  // missing is fine
}

TEST_F(ServeDir, CurrentUuidIgnoresLinksThatAreNotOurs) {
  fs::create_symlink("/etc", Current());
  EXPECT_EQ(CurrentUuid(Dir()), "");
  fs::remove(Current());
  fs::create_symlink(".snapshots/a/b", Current());
  EXPECT_EQ(CurrentUuid(Dir()), "");
}

TEST_F(ServeDir, CheckRefusesARealCurrentAndRemovesTempLinks) {
  fs::create_symlink(".snapshots/x", Dir() + "/.current.0123456789abcdef.tmp");
  std::ofstream(Dir() + "/.current.notes") << "kept";
  EXPECT_TRUE(CheckServeDir(Dir()).ok());
  EXPECT_FALSE(fs::is_symlink(Dir() + "/.current.0123456789abcdef.tmp"));
  EXPECT_TRUE(fs::exists(Dir() + "/.current.notes"));

  std::ofstream(Current()) << "x";
  Status s = CheckServeDir(Dir());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), Current() + ": exists and is not a symbolic link; serve into a directory of its own");
}

TEST_F(ServeDir, ManifestWatchWakesOnTheManifestOnly) {
  const std::string vol = Dir() + "/vol";
  fs::create_directory(vol);
  std::ofstream(vol + "/manifest") << "x";
  ManifestWatch w(vol);
  // An unrelated file (a segment being written) does not wake it.
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ofstream(vol + "/seg-1.data", std::ios::app) << "data";
  });
  auto t0 = Clock::now();
  w.Wait(0.4, nullptr);
  other.join();
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(380));
  // The manifest does, long before the timeout.
  std::thread append([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ofstream(vol + "/manifest", std::ios::app) << "record";
  });
  t0 = Clock::now();
  w.Wait(20, nullptr);
  append.join();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5));
  // So does stop().
  t0 = Clock::now();
  w.Wait(20, [] { return true; });
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST_F(ServeDir, ServeRefusesBeforeServing) {
  ServeSpec s;
  s.replica_dir = Dir() + "/r";
  s.dir = Dir() + "/srv";
  s.stop = [] { return true; };
  fs::create_directory(s.replica_dir);
  Status st = Serve(s);
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_NE(st.message().find("not a ddloop volume"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(s.dir));

  vol::CreateOptions c;
  c.size = 1 << 20;
  ASSERT_TRUE(vol::Volume::Create(Env::Posix(), s.replica_dir + "/volume", c).ok());
  s.poll_seconds = 0;
  EXPECT_EQ(Serve(s).code(), Code::kInvalidArgument);
  s.poll_seconds = 1;
  s.dir = s.replica_dir + "/volume/srv";
  EXPECT_EQ(Serve(s).code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(s.dir));  // nothing made inside the volume
  s.dir = s.replica_dir;            // DIR/lock would be the replica's own lock file
  EXPECT_EQ(Serve(s).code(), Code::kInvalidArgument);

  // Stopped at once: DIR made, nothing served, nothing left but the lock.
  s.dir = Dir() + "/srv";
  ASSERT_TRUE(Serve(s).ok());
  EXPECT_FALSE(fs::is_symlink(s.dir + "/current"));
  EXPECT_TRUE(fs::is_directory(s.dir + "/.snapshots"));
}

}  // namespace
}  // namespace ddl::replica
