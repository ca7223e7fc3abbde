// apply_lock_test - the image lock (deltafile/file_lock.h) as apply uses it,
// and where the default apply state of an image is (apply_state.h):
// one state per image whatever path names it, distinct states for distinct
// images.
#include <gtest/gtest.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "backup/apply.h"
#include "backup/apply_state.h"
#include "deltafile/file_lock.h"
#include "deltafile/io_memory.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ddloop-lock-test.XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { (void)std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(FileLock, ExclusiveExcludesEveryOtherLock) {
  TempDir d;
  WriteFileBytes(d / "img", Bytes(4096, 1));
  auto ex = FileLock::Acquire(d / "img", LockKind::kExclusive);
  ASSERT_TRUE(ex.ok()) << ex.status().message();
  // A second open file description, even in this process, conflicts.
  auto again = FileLock::Acquire(d / "img", LockKind::kExclusive);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kBusy);
  EXPECT_EQ(again.status().message().rfind(d / "img" + ": another process is using it: holds its lock", 0), 0u)
      << again.status().message();
  EXPECT_EQ(FileLock::Acquire(d / "img", LockKind::kShared).status().code(), Code::kBusy);
  ex->reset();
  EXPECT_TRUE(FileLock::Acquire(d / "img", LockKind::kExclusive).ok());
}

TEST(FileLock, SharedLocksCoexistAndExcludeExclusive) {
  TempDir d;
  WriteFileBytes(d / "img", Bytes(4096, 1));
  auto a = FileLock::Acquire(d / "img", LockKind::kShared);
  auto b = FileLock::Acquire(d / "img", LockKind::kShared);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(::symlink((d / "img").c_str(), (d / "link").c_str()), 0);
  // Through a symbolic link: the same inode, the same lock.
  EXPECT_EQ(FileLock::Acquire(d / "link", LockKind::kExclusive).status().code(), Code::kBusy);
  a->reset();
  EXPECT_EQ(FileLock::Acquire(d / "img", LockKind::kExclusive).status().code(), Code::kBusy);
  b->reset();
  EXPECT_TRUE(FileLock::Acquire(d / "link", LockKind::kExclusive).ok());
}

TEST(FileLock, MissingFileIsNotFound) {
  TempDir d;
  EXPECT_EQ(FileLock::Acquire(d / "nothing", LockKind::kShared).status().code(), Code::kNotFound);
}

TEST(ApplyLock, HeldLockRefusesApplyWithNothingWritten) {
  TempDir d;
  Bytes v0 = RandomBytes(1 << 20, 7), v1 = v0;
  Put(&v1, 4096, RandomBytes(200000, 8));
  WriterOptions w;
  w.chunk_shift = 14;
  WriteFileBytes(d / "d01", MakeDelta(&v0, v1, w));
  WriteFileBytes(d / "img", v0);
  auto held = FileLock::Acquire(d / "img", LockKind::kShared);  // as a mount does
  ASSERT_TRUE(held.ok());
  ApplyOptions o;
  o.threads = 1;
  ApplyReport rep;
  Status s = ApplyChain({d / "d01"}, d / "img", o, &rep);
  EXPECT_EQ(s.code(), Code::kBusy) << s.message();
  EXPECT_EQ(ReadFileBytes(d / "img"), v0);
  EXPECT_NE(::access((d / "img.ddloop-state").c_str(), F_OK), 0) << "a state was written";
  held->reset();
  ApplyReport rep2;
  ASSERT_TRUE(ApplyChain({d / "d01"}, d / "img", o, &rep2).ok());
  EXPECT_EQ(ReadFileBytes(d / "img"), v1);
}

// The path is swapped for another file between apply's open of the image and
// its lock: the lock must be on the file apply writes (held by a "mount"),
// not on whatever the path names by then. Locking by path again, as apply
// did, took the free lock of the new file and wrote the served one.
TEST(ApplyLock, LockIsOnTheFileOpenedEvenIfThePathIsSwapped) {
  TempDir d;
  Bytes v0 = RandomBytes(1 << 20, 7), v1 = v0;
  Put(&v1, 4096, RandomBytes(200000, 8));
  WriterOptions w;
  w.chunk_shift = 14;
  WriteFileBytes(d / "d01", MakeDelta(&v0, v1, w));
  WriteFileBytes(d / "img", v0);
  auto held = FileLock::Acquire(d / "img", LockKind::kShared);  // a mount serves this file
  ASSERT_TRUE(held.ok());
  ApplyOptions o;
  o.threads = 1;
  o.after_open_for_test = [&] {
    WriteFileBytes(d / "other", v0);
    ASSERT_EQ(::rename((d / "other").c_str(), (d / "img").c_str()), 0);
  };
  ApplyReport rep;
  Status s = ApplyChain({d / "d01"}, d / "img", o, &rep);
  EXPECT_EQ(s.code(), Code::kBusy) << s.message();
  // The served file (only reachable through the lock's descriptor now) is untouched.
  EXPECT_EQ(ReadFileBytes("/proc/self/fd/" + std::to_string(held.value()->fd())), v0);
}

// In the memory env the image lock is the Env's table: a holder in the same
// test keeps apply out, with nothing written.
TEST(ApplyLock, MemoryEnvLockRefusesApply) {
  Bytes v0 = RandomBytes(1 << 20, 7), v1 = v0;
  Put(&v1, 4096, RandomBytes(200000, 8));
  WriterOptions w;
  w.chunk_shift = 14;
  MemEnv env;
  env.Put("d01", MakeDelta(&v0, v1, w));
  env.Put("img", v0);
  auto held = env.LockFile("img", false);  // as a mount serving it would
  ASSERT_TRUE(held.ok());
  ApplyOptions o;
  o.env = &env;
  o.threads = 1;
  ApplyReport rep;
  Status s = ApplyChain({"d01"}, "img", o, &rep);
  EXPECT_EQ(s.code(), Code::kBusy) << s.message();
  EXPECT_TRUE(env.Get("img") == v0);
  EXPECT_FALSE(env.Exists(DefaultStatePath(&env, "img")));
  held.value().reset();
  ASSERT_TRUE(ApplyChain({"d01"}, "img", o, &rep).ok());
  EXPECT_TRUE(env.Get("img") == v1);
}

// One --state for two images: the state of the first must not vouch for
// the second (with --check quick, only the changed chunks would be read).
TEST(ApplyLock, StateOfAnotherImageIsNotTrusted) {
  Bytes v0 = TextBytes(2 << 20, 1), v1 = v0, v2;
  Put(&v1, 10000, RandomBytes(300000, 3));
  v2 = v1;
  Put(&v2, 700000, RandomBytes(400000, 4));
  WriterOptions w;
  w.chunk_shift = 14;
  MemEnv env;
  env.Put("d01", MakeDelta(&v0, v1, w));
  env.Put("d12", MakeDelta(&v1, v2, w));
  Bytes almost = v1;  // v1 but for one byte, in a chunk d12 does not change
  almost[1900000] ^= 1;
  env.Put("a", v0);
  env.Put("b", almost);
  ApplyOptions o;
  o.env = &env;
  o.state_path = "shared.state";
  o.check = BaseCheck::kQuick;
  ApplyReport rep;
  ASSERT_TRUE(ApplyChain({"d01"}, "a", o, &rep).ok());
  std::vector<std::string> notes;
  o.note = [&](const std::string& l) { notes.push_back(l); };
  ApplyReport rep2;
  Status s = ApplyChain({"d12"}, "b", o, &rep2);
  EXPECT_EQ(s.code(), Code::kWrongBase) << s.message();
  EXPECT_EQ(rep2.base_check.rfind("full fingerprint", 0), 0u) << rep2.base_check;
  EXPECT_TRUE(env.Get("b") == almost);
  ASSERT_FALSE(notes.empty());
  EXPECT_NE(notes[0].find("the state of another image (a)"), std::string::npos) << notes[0];
}

TEST(ApplyStatePath, IdentityIsRecordedAndChecked) {
  ApplyState s;
  s.image = EscapeStateName("/srv/a b/img");
  auto d = ApplyState::Decode(*s.Encode("x"), "x");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->image, "%2Fsrv%2Fa%20b%2Fimg");
  ApplyState old;  // a state of an earlier version has no image line
  ASSERT_TRUE(old.Encode("x").ok());
  EXPECT_EQ(old.Encode("x")->find("\nimage "), std::string::npos);
  auto o = ApplyState::Decode(*old.Encode("x"), "x");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->image, "");
}

TEST(ApplyStatePath, EveryPathOfOneFileFindsOneState) {
  TempDir d;
  WriteFileBytes(d / "img", Bytes(16, 0));
  ASSERT_EQ(::mkdir((d / "sub").c_str(), 0755), 0);
  ASSERT_EQ(::symlink((d / "img").c_str(), (d / "sub/link").c_str()), 0);
  ASSERT_EQ(::symlink(d.path().c_str(), (d / "dirlink").c_str()), 0);
  char real[PATH_MAX];
  ASSERT_NE(::realpath(d.path().c_str(), real), nullptr);
  const std::string want = std::string(real) + "/img.ddloop-state";
  Env* env = Env::Posix();
  EXPECT_EQ(DefaultStatePath(env, d / "img"), want);
  EXPECT_EQ(DefaultStatePath(env, d / "sub/link"), want);
  EXPECT_EQ(DefaultStatePath(env, d / "sub/../img"), want);
  EXPECT_EQ(DefaultStatePath(env, d / "dirlink/img"), want);
  // Not created yet (a seed): its directory is canonicalised.
  EXPECT_EQ(DefaultStatePath(env, d / "dirlink/new.img"), std::string(real) + "/new.img.ddloop-state");
}

TEST(ApplyStatePath, EscapingIsUnambiguous) {
  // The collision of the old scheme: "/" turned into "_".
  EXPECT_NE(EscapeStateName("/dev/vg0/data_replica"), EscapeStateName("/dev/vg0_data/replica"));
  EXPECT_EQ(EscapeStateName("block-7:3-loop3"), "block-7%3A3-loop3");
  EXPECT_EQ(EscapeStateName("a%2Fb"), "a%252Fb");  // '%' itself is escaped
  EXPECT_NE(EscapeStateName("a/b"), EscapeStateName("a%2Fb"));
  EXPECT_EQ(EscapeStateName("../x"), "%2E.%2Fx");  // never a path, never hidden
  EXPECT_EQ(EscapeStateName("dm-uuid-LVM-AbC_1.2"), "dm-uuid-LVM-AbC_1.2");
  EXPECT_EQ(BlockDeviceKey("/proc/self/exe"), "");
}

}  // namespace
}  // namespace ddl::test
