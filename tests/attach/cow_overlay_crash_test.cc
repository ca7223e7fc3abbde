// cow_overlay_crash_test.cc - the COW overlay of `mount --cow` under
// FaultInjectionEnv: crashed at random I/O calls (unsynced data and unsynced
// directory entries dropped, as by a power cut), reopened and read back:
// every block a completed Sync() covered reads as synced, every block written
// since reads either as it was or as written, never anything else.
#include <gtest/gtest.h>

#include <random>

#include "attach/cow_overlay.h"
#include "deltafile/chain.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

constexpr uint64_t kBlock = CowOverlay::kBlock;
constexpr uint64_t kSize = 24 * kBlock + 1536;  // the last block is partial
constexpr uint64_t kBlocks = (kSize + kBlock - 1) / kBlock;
const std::string kCow = "scratch/x.cow";

class CowOverlayCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lower_img_ = RandomBytes(kSize, 7);
    env_.Put("seed.delta", MakeDelta(nullptr, lower_img_));
    auto f = env_.Open("seed.delta", OpenMode::kRead);
    ASSERT_TRUE(f.ok()) << f.status().message();
    delta_ = std::move(f.value());
    auto c = ChainReader::Open(nullptr, {delta_.get()}, ChainOptions());
    ASSERT_TRUE(c.ok()) << c.status().message();
    chain_ = std::move(c.value());
    ASSERT_EQ(chain_->size(), kSize);
  }

  Bytes Block(const Bytes& img, uint64_t b) const {
    uint64_t end = std::min(kSize, (b + 1) * kBlock);
    return Bytes(img.begin() + b * kBlock, img.begin() + end);
  }

  Result<Bytes> ReadAll(CowOverlay* c) {
    Bytes b(kSize);
    DDL_RETURN_IF_ERROR(c->Read(0, b.data(), b.size()));
    return b;
  }

  FaultInjectionEnv env_;
  Bytes lower_img_;
  std::unique_ptr<File> delta_;
  std::unique_ptr<ChainReader> chain_;
};

// Without the directory sync after creating the file, a power cut after a
// completed Sync() loses the file and with it every synced block.
TEST_F(CowOverlayCrashTest, SyncedWriteToANewFileSurvivesACrash) {
  Bytes data = RandomBytes(2 * kBlock, 11);
  {
    auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_TRUE(c.value()->Write(3 * kBlock, data.data(), data.size()).ok());
    ASSERT_TRUE(c.value()->Sync().ok());
  }
  env_.DropUnsyncedData();
  auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value()->blocks_written(), 2u);
  Bytes got(data.size());
  ASSERT_TRUE(c.value()->Read(3 * kBlock, got.data(), got.size()).ok());
  EXPECT_TRUE(got == data) << "a synced write to the COW file was lost at a crash";
}

// Writes after the last Sync() are dropped whole: the block reads as synced.
TEST_F(CowOverlayCrashTest, UnsyncedWriteReadsAsBefore) {
  Bytes a = RandomBytes(kBlock, 21), b = RandomBytes(kBlock, 22);
  {
    auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_TRUE(c.value()->Write(5 * kBlock, a.data(), a.size()).ok());
    ASSERT_TRUE(c.value()->Sync().ok());
    ASSERT_TRUE(c.value()->Write(5 * kBlock, b.data(), b.size()).ok());
    ASSERT_TRUE(c.value()->Write(6 * kBlock, b.data(), b.size()).ok());
  }
  env_.DropUnsyncedData();
  auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto img = ReadAll(c.value().get());
  ASSERT_TRUE(img.ok()) << img.status().message();
  EXPECT_TRUE(Block(img.value(), 5) == a);
  EXPECT_TRUE(Block(img.value(), 6) == Block(lower_img_, 6));
  EXPECT_EQ(c.value()->blocks_written(), 1u);
}

// An empty file at the path (made by `touch`) is taken as a new one, as
// before the overlay went through Env; a file of another size is refused.
TEST_F(CowOverlayCrashTest, EmptyFileIsMadeNewOtherSizesAreRefused) {
  env_.Put(kCow, {});
  auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c.value()->blocks_written(), 0u);
  env_.Put("other.cow", Bytes(100, 1));
  EXPECT_EQ(CowOverlay::Open("other.cow", chain_.get(), &env_).status().code(), Code::kCorruption);
}

TEST_F(CowOverlayCrashTest, RandomCrashPoints) {
  std::mt19937_64 rng(1234);
  Bytes current = lower_img_;
  // Per block: every content a crash may leave (the synced one and any
  // written since).
  std::vector<std::vector<Bytes>> accept(kBlocks);
  auto settle = [&] {
    for (uint64_t b = 0; b < kBlocks; b++) accept[b] = {Block(current, b)};
  };
  settle();
  int crashes = 0, syncs = 0;
  for (int round = 0; round < 300; round++) {
    env_.CrashAfter(1 + rng() % 40);
    {
      auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
      for (int op = 0; c.ok() && op < 30 && !env_.crashed(); op++) {
        if (rng() % 5 == 0) {
          if (c.value()->Sync().ok()) {
            settle();
            syncs++;
          }
          continue;
        }
        uint64_t off = rng() % kSize;
        if (rng() % 2) off -= off % kBlock;  // often block-aligned, so whole blocks are written through
        size_t n = 1 + rng() % std::min<uint64_t>(3 * kBlock, kSize - off);
        Bytes data = RandomBytes(n, rng());
        Put(&current, off, data);
        for (uint64_t b = off / kBlock; b <= (off + n - 1) / kBlock; b++) accept[b].push_back(Block(current, b));
        Status s = c.value()->Write(off, data.data(), data.size());
        ASSERT_TRUE(s.ok() || env_.crashed()) << "round " << round << ": " << s.message();
      }
    }
    if (env_.crashed()) crashes++;
    env_.DropUnsyncedData();

    auto c = CowOverlay::Open(kCow, chain_.get(), &env_);
    ASSERT_TRUE(c.ok()) << "round " << round << ": reopen after a crash: " << c.status().message();
    auto img = ReadAll(c.value().get());
    ASSERT_TRUE(img.ok()) << img.status().message();
    for (uint64_t b = 0; b < kBlocks; b++) {
      Bytes got = Block(img.value(), b);
      bool ok = false;
      for (const Bytes& a : accept[b]) ok = ok || a == got;
      ASSERT_TRUE(ok) << "round " << round << ": block " << b << " reads neither as synced nor as written since";
    }
    current = img.value();
    settle();
  }
  EXPECT_GT(crashes, 100);
  EXPECT_GT(syncs, 100);
}

}  // namespace
}  // namespace ddl::test
