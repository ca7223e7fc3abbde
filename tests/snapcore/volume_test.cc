// volume_test.cc - ddloop volumes in memory: snapshots read back with their
// fingerprints, deltas between every pair apply to the older image and give
// the newer, deletes keep the rest intact, revert, partial writes, reopen.
#include <map>

#include "backup/apply.h"
#include "snapcore/volume_delta.h"
#include "tests/snapcore/volume_test_util.h"

namespace ddl::test {
namespace {

constexpr uint64_t kSize = 1 << 20;  // 256 chunks of 4 KiB
const std::string kDir = "vol";

class VolumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vol::CreateOptions c;
    c.size = kSize;
    ASSERT_TRUE(vol::Volume::Create(&env_, kDir, c).ok());
    Reopen();
    model_.assign(kSize, 0);
  }
  void Reopen() {
    v_.reset();
    auto r = vol::Volume::Open(&env_, kDir, vol::OpenOptions());
    ASSERT_TRUE(r.ok()) << r.status().message();
    v_ = std::move(r.value());
  }
  void Write(uint64_t off, const Bytes& b) {
    ASSERT_TRUE(v_->Write(off, b.data(), b.size()).ok());
    Put(&model_, off, b);
  }
  void Snap(const std::string& name) {
    auto r = v_->CreateSnapshot(name);
    ASSERT_TRUE(r.ok()) << r.status().message();
    images_[name] = model_;
    EXPECT_EQ(r->fingerprint, FingerprintOf(model_, 12)) << name;
  }
  // Every snapshot reads back as recorded, with its fingerprint.
  void CheckSnapshots() {
    const vol::VolumeState& st = v_->state();
    ASSERT_EQ(st.snaps.size(), images_.size());
    for (size_t i = 0; i < st.snaps.size(); i++) {
      auto b = ReadSnapshot(&env_, kDir, st, int(i));
      ASSERT_TRUE(b.ok()) << b.status().message();
      EXPECT_TRUE(*b == images_[st.snaps[i].name]) << st.snaps[i].name;
      EXPECT_EQ(st.snaps[i].fingerprint, FingerprintOf(*b, 12)) << st.snaps[i].name;
    }
    EXPECT_TRUE(ReadLive(v_.get()) == model_);
  }
  // volume delta from..to applied to from's image gives to's image.
  void CheckDelta(const std::string& from, const std::string& to) {
    vol::VolumeDeltaOptions o;
    o.from = from;
    o.to = to;
    auto out = env_.Open("d.delta", OpenMode::kCreate);
    ASSERT_TRUE(out.ok());
    vol::VolumeDeltaResult r;
    Status s = vol::WriteVolumeDelta(&env_, kDir, o, out->get(), &r);
    ASSERT_TRUE(s.ok()) << s.message();
    out->reset();
    const Bytes* base = from.empty() ? nullptr : &images_[from];
    Status vs = VerifyBytes(env_.Get("d.delta"), base);
    ASSERT_TRUE(vs.ok()) << from << ".." << to << ": " << vs.message();
    env_.Put("img", base ? *base : Bytes());
    ApplyOptions ao;
    ao.env = &env_;
    ApplyReport rep;
    Status as = ApplyChain({"d.delta"}, "img", ao, &rep);
    ASSERT_TRUE(as.ok()) << as.message();
    EXPECT_TRUE(env_.Get("img") == images_[to]) << from << ".." << to;
    EXPECT_EQ(r.target.fingerprint, FingerprintOf(images_[to], 12));
  }

  MemEnv env_;
  std::unique_ptr<vol::Volume> v_;
  Bytes model_;
  std::map<std::string, Bytes> images_;
};

TEST_F(VolumeTest, SnapshotsDeltasAndFingerprints) {
  Write(0, RandomBytes(8192, 1));
  Snap("a");
  Write(4096, TextBytes(4096 * 3, 2));
  Write(kSize - 4096, RandomBytes(4096, 3));
  Snap("b");
  Write(4096, Bytes(4096, 0));  // back to zeros
  Write(100 * 4096, RandomBytes(4096 * 20, 4));
  Snap("c");
  Write(100 * 4096, RandomBytes(4096 * 20, 4));  // the same content again
  Snap("d");
  CheckSnapshots();
  std::vector<std::string> names = {"a", "b", "c", "d"};
  for (size_t i = 0; i < names.size(); i++) {
    CheckDelta("", names[i]);
    for (size_t j = i + 1; j < names.size(); j++) CheckDelta(names[i], names[j]);
  }
}

TEST_F(VolumeTest, PartialWritesAndReopen) {
  Write(0, RandomBytes(4096 * 4, 5));
  Snap("a");
  Write(100, RandomBytes(10, 6));           // inside one chunk
  Write(4096 * 2 - 7, RandomBytes(30, 7));  // across a chunk boundary
  Write(kSize - 512, RandomBytes(512, 8));  // the last sector
  ASSERT_TRUE(v_->Flush().ok());
  Reopen();
  EXPECT_TRUE(ReadLive(v_.get()) == model_);
  Snap("b");
  Reopen();
  CheckSnapshots();
  CheckDelta("a", "b");
}

TEST_F(VolumeTest, DeleteOldestMiddleNewest) {
  for (int i = 0; i < 6; i++) {
    Write(uint64_t(i) * 4096, RandomBytes(4096 * 3, 10 + i));  // overlapping changes
    Write(uint64_t(200 + i) * 4096, RandomBytes(4096, 20 + i));
    Snap("s" + std::to_string(i));
  }
  Write(0, RandomBytes(4096, 99));  // the head has chunks too
  auto del = [&](const std::string& n) {
    Status s = v_->DeleteSnapshot(n);
    ASSERT_TRUE(s.ok()) << s.message();
    images_.erase(n);
    CheckSnapshots();
  };
  del("s3");  // middle
  del("s5");  // newest: merges into the head
  del("s0");  // oldest: folds into base
  Snap("t");
  CheckSnapshots();
  CheckDelta("s1", "t");
  CheckDelta("s2", "s4");
  Reopen();
  CheckSnapshots();
  del("s4");  // newest again, after a reopen
  Snap("u");
  CheckSnapshots();
  CheckDelta("s1", "u");
  CheckDelta("t", "u");
  EXPECT_FALSE(v_->DeleteSnapshot("nope").ok());
}

TEST_F(VolumeTest, RevertKeepsLaterSnapshots) {
  Write(0, RandomBytes(4096 * 8, 30));
  Snap("a");
  Write(4096 * 4, RandomBytes(4096 * 8, 31));
  Snap("b");
  Write(4096 * 50, RandomBytes(4096, 32));
  Status s = v_->Revert("a", nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  model_ = images_["a"];
  CheckSnapshots();
  Reopen();
  CheckSnapshots();
  Write(4096 * 60, RandomBytes(4096, 33));
  Snap("c");
  CheckSnapshots();
  CheckDelta("a", "c");
  CheckDelta("b", "c");
}

TEST_F(VolumeTest, ManySnapshots) {
  for (int i = 0; i < 300; i++) {
    Write(uint64_t(i % 50) * 4096, RandomBytes(4096, 40 + i));
    Snap("s" + std::to_string(i));
  }
  for (int i = 0; i < 300; i += 2) {
    ASSERT_TRUE(v_->DeleteSnapshot("s" + std::to_string(i)).ok());
    images_.erase("s" + std::to_string(i));
  }
  Reopen();
  CheckSnapshots();
  CheckDelta("s1", "s299");
}

TEST_F(VolumeTest, RejectsBadNamesAndReadOnlyWrites) {
  EXPECT_FALSE(v_->CreateSnapshot("#1").ok());
  EXPECT_FALSE(v_->CreateSnapshot("a/b").ok());
  Snap("x");
  EXPECT_FALSE(v_->CreateSnapshot("x").ok());
  v_.reset();
  vol::OpenOptions ro;
  ro.writable = false;
  auto r = vol::Volume::Open(&env_, kDir, ro);
  ASSERT_TRUE(r.ok());
  Bytes b(4096, 1);
  EXPECT_FALSE((*r)->Write(0, b.data(), b.size()).ok());
}

TEST_F(VolumeTest, ImportComputesTheOriginFingerprint) {
  Bytes img = RandomBytes(kSize / 2, 50);
  Put(&img, 4096 * 10, Bytes(4096 * 5, 0));
  env_.Put("image", img);
  vol::CreateOptions c;
  ASSERT_TRUE(vol::Volume::Import(&env_, "vol2", "image", c).ok());
  auto r = vol::Volume::Open(&env_, "vol2", vol::OpenOptions());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->state().origin_fp, FingerprintOf(img, 12));
  EXPECT_TRUE(ReadLive(r->get()) == img);
}

}  // namespace
}  // namespace ddl::test
