// golden_volume_test - the committed golden volume (tests/golden/volume):
// a copy of it opens, passes the check of `ddloop volume check`, and reads
// every snapshot and the head byte-exact (XXH64 against EXPECTED); the
// operations that made it, run again, write the same bytes into every file
// (so an encoder that drifts, or a format changed without a new version and
// a regenerated volume, fails here). The committed directory is only read.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "snapcore/snapshot_view.h"
#include "snapcore/volume.h"
#include "snapcore/volume_check.h"
#include "tests/golden/golden_volume.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

namespace fs = std::filesystem;

std::string GoldenDir() { return SourceDir() + "/golden/volume"; }

class GoldenVolume : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "golden-volume.XXXXXX").string();
    ASSERT_NE(mkdtemp(&tmpl[0]), nullptr) << tmpl << ": " << std::strerror(errno);
    tmp_ = tmpl;
    const Bytes raw = ReadFileBytes(GoldenDir() + "/EXPECTED");
    const std::string text(raw.begin(), raw.end());
    ASSERT_TRUE(ParseGoldenExpected(text, &expected_)) << "EXPECTED is malformed";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
  // A copy of the committed volume in the temp dir.
  std::string Copy() {
    std::string dir = tmp_ + "/vol";
    fs::copy(GoldenDir() + "/vol", dir, fs::copy_options::recursive);
    return dir;
  }

  std::string tmp_;
  std::vector<GoldenContent> expected_;
};

uint64_t HashOf(const Bytes& b) { return Xxh64(b.data(), b.size()); }

TEST_F(GoldenVolume, CopyPassesTheCheck) {
  std::string dir = Copy();
  vol::CheckReport r;
  Status s = vol::CheckVolume(Env::Posix(), dir, nullptr, &r);
  ASSERT_TRUE(s.ok()) << s.message() << (r.problems.empty() ? "" : ": " + r.problems[0].message);
  EXPECT_TRUE(r.notes.empty()) << r.notes[0];
  EXPECT_EQ(r.snapshots, 4u);
  EXPECT_GT(r.index_entries, 0u);
}

TEST_F(GoldenVolume, EverySnapshotAndTheHeadReadAsExpected) {
  std::string dir = Copy();
  vol::OpenOptions o;
  o.writable = false;
  auto v = vol::Volume::Open(Env::Posix(), dir, o);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const vol::VolumeState& st = v.value()->state();
  ASSERT_EQ(st.snaps.size() + 1, expected_.size());
  for (size_t i = 0; i < st.snaps.size(); i++) {
    SCOPED_TRACE(st.snaps[i].name);
    EXPECT_EQ(expected_[i].kind, "snapshot");
    EXPECT_EQ(st.snaps[i].name, expected_[i].name);
    auto view = vol::SnapshotView::Open(Env::Posix(), dir, st, int(i));
    ASSERT_TRUE(view.ok()) << view.status().message();
    Bytes b(st.size);
    Status s = view.value()->Read(0, b.data(), b.size());
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(HashOf(b), expected_[i].xxh64);
  }
  EXPECT_EQ(expected_.back().kind, "head");
  Bytes head(st.size);
  Status s = v.value()->Read(0, head.data(), head.size());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(HashOf(head), expected_.back().xxh64);
  v.value().reset();

  // Writable too (garbage collection, the journal replay of the head).
  o.writable = true;
  auto w = vol::Volume::Open(Env::Posix(), dir, o);
  ASSERT_TRUE(w.ok()) << w.status().message();
  s = w.value()->Read(0, head.data(), head.size());
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(HashOf(head), expected_.back().xxh64);
  ASSERT_TRUE(w.value()->Close().ok());
}

// The check is not vacuous: one flipped byte in an index block is found.
TEST_F(GoldenVolume, AFlippedIndexByteFailsTheCheck) {
  std::string dir = Copy();
  std::string idx = dir + "/seg-5-1.idx";
  Bytes b = ReadFileBytes(idx);
  ASSERT_GT(b.size(), 100u);
  b[100] = uint8_t(~b[100]);
  WriteFileBytes(idx, b);
  vol::CheckReport r;
  Status s = vol::CheckVolume(Env::Posix(), dir, nullptr, &r);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.message();
  ASSERT_FALSE(r.problems.empty());
  EXPECT_NE(r.problems[0].message.find("checksum"), std::string::npos) << r.problems[0].message;
}

// Same operations, same bytes: the encoders write what the committed volume
// holds, file for file.
TEST_F(GoldenVolume, RebuildingWritesTheSameBytes) {
  std::vector<GoldenContent> got;
  Status s = BuildGoldenVolume(Env::Posix(), tmp_ + "/rebuilt", &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(FormatGoldenExpected(got), FormatGoldenExpected(expected_));
  std::vector<std::string> want, have;
  for (const auto& e : fs::directory_iterator(GoldenDir() + "/vol")) want.push_back(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(tmp_ + "/rebuilt")) have.push_back(e.path().filename().string());
  std::sort(want.begin(), want.end());
  std::sort(have.begin(), have.end());
  ASSERT_EQ(have, want);
  for (const std::string& name : want) {
    SCOPED_TRACE(name);
    Bytes a = ReadFileBytes(GoldenDir() + "/vol/" + name), b = ReadFileBytes(tmp_ + "/rebuilt/" + name);
    ASSERT_EQ(a.size(), b.size());
    size_t i = 0;
    while (i < a.size() && a[i] == b[i]) i++;
    EXPECT_EQ(i, a.size()) << "first difference at byte " << i;
  }
}

}  // namespace
}  // namespace ddl::test
