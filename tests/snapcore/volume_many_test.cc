// volume_many_test.cc - one volume with 10,000 snapshots on the real file
// system (Env::Posix, under /dev/shm when it exists): every snapshot's
// recorded fingerprint is the one the test computes; deleting every other
// snapshot (the oldest and the newest among them) frees at least the space
// of the chunk every interval overwrites; after a reopen the 5,000 others
// remain in order with their fingerprints, sampled snapshots read back byte
// for byte, and a delta across all of them verifies against its base.
//
// Its own executable (snapcore_many_test): it takes tens of seconds, far
// more than the in-memory volume tests. Timings are printed, not tested.
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include "snapcore/volume_delta.h"
#include "tests/snapcore/volume_test_util.h"

namespace ddl::test {
namespace {

constexpr uint32_t kShift = 12;
constexpr uint64_t kChunk = uint64_t(1) << kShift;
constexpr uint64_t kSize = uint64_t(64) << 20;
constexpr uint64_t kChunks = kSize >> kShift;
constexpr int kSnaps = 10000;
constexpr uint64_t kHot = 0;  // every interval overwrites it

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

struct ChunkWrite {
  uint64_t chunk;
  uint64_t seed;  // 0: the chunk is written with zeros
};

// The writes of interval i (the ones snapshot s<i> seals), in order: the hot
// chunk, two chunks spread over the volume (one of them back to zeros every
// 7th interval), and every 5th interval a second write of the hot chunk.
std::vector<ChunkWrite> WritesOf(int i) {
  uint64_t k = uint64_t(i) * 8;
  std::vector<ChunkWrite> w;
  w.push_back({kHot, k + 1});
  w.push_back({1 + Mix(k + 2) % (kChunks - 1), k + 2});
  w.push_back({1 + Mix(k + 3) % (kChunks - 1), i % 7 == 3 ? 0 : k + 3});
  if (i % 5 == 0) w.push_back({kHot, k + 4});
  return w;
}

Bytes ChunkData(uint64_t seed) { return seed == 0 ? Bytes(kChunk, 0) : RandomBytes(kChunk, seed); }

std::string Name(int i) { return "s" + std::to_string(i); }

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Bytes allocated to the files of dir (st_blocks, not the sparse sizes).
uint64_t AllocatedBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat sb;
    if (::stat(e.path().c_str(), &sb) == 0 && S_ISREG(sb.st_mode)) total += uint64_t(sb.st_blocks) * 512;
  }
  return total;
}

class VolumeManyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* parent = "/dev/shm";
    struct stat sb;
    if (::stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      parent = getenv("TMPDIR");
      if (parent == nullptr || *parent == '\0') parent = "/tmp";
    }
    std::string tmpl = std::string(parent) + "/ddloop-many-XXXXXX";
    ASSERT_NE(mkdtemp(&tmpl[0]), nullptr) << tmpl << ": " << std::strerror(errno);
    tmp_ = tmpl;
    dir_ = tmp_ + "/vol";
    std::printf("volume in %s\n", dir_.c_str());
  }
  void TearDown() override {
    v_.reset();
    if (!tmp_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(tmp_, ec);
    }
  }
  void Open() {
    v_.reset();
    auto r = vol::Volume::Open(env_, dir_, vol::OpenOptions());
    ASSERT_TRUE(r.ok()) << r.status().message();
    v_ = std::move(r.value());
  }

  Env* env_ = Env::Posix();
  std::string tmp_, dir_;
  std::unique_ptr<vol::Volume> v_;
};

TEST_F(VolumeManyTest, TenThousandSnapshotsDeleteHalf) {
  vol::CreateOptions co;
  co.size = kSize;
  co.chunk_shift = kShift;
  ASSERT_TRUE(vol::Volume::Create(env_, dir_, co).ok());
  ASSERT_NO_FATAL_FAILURE(Open());

  // 1. 10,000 intervals, each sealed as a snapshot; the expected fingerprint
  // follows the writes (Sub the chunk's old hash, Add the new one).
  std::vector<ChunkHash> cur(kChunks);  // all zero markers: the origin is zeros
  Fingerprint fp;
  std::vector<Fingerprint> expected(kSnaps);
  auto apply = [&](const ChunkWrite& w) {
    Bytes d = ChunkData(w.seed);
    Status s = v_->Write(w.chunk << kShift, d.data(), d.size());
    ASSERT_TRUE(s.ok()) << s.message();
    ChunkHash h = HashChunk(d.data(), d.size());
    fp.Sub(w.chunk, cur[w.chunk]);
    fp.Add(w.chunk, h);
    cur[w.chunk] = h;
  };
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kSnaps; i++) {
    for (const ChunkWrite& w : WritesOf(i)) ASSERT_NO_FATAL_FAILURE(apply(w));
    auto r = v_->CreateSnapshot(Name(i));
    ASSERT_TRUE(r.ok()) << Name(i) << ": " << r.status().message();
    expected[i] = fp;
    ASSERT_EQ(r->fingerprint, fp) << Name(i);
    if ((i + 1) % 2500 == 0) std::printf("  %d snapshots: %.1f s\n", i + 1, Since(t0));
  }
  double create_s = Since(t0);
  ASSERT_EQ(v_->state().snaps.size(), size_t(kSnaps));
  // The head holds chunks too when the newest snapshot is merged into it.
  std::vector<ChunkWrite> head_writes = {{kHot, 1u << 30}, {kChunks - 1, (1u << 30) + 1}};
  for (const ChunkWrite& w : head_writes) ASSERT_NO_FATAL_FAILURE(apply(w));
  Fingerprint live_fp = fp;
  ASSERT_TRUE(v_->Flush().ok());

  // 2. Delete every other snapshot: s0 (the oldest), the even ones but
  // s9998, and s9999 (the newest), in a shuffled order.
  std::vector<int> doomed;
  for (int i = 0; i < kSnaps; i += 2)
    if (i != kSnaps - 2) doomed.push_back(i);
  doomed.push_back(kSnaps - 1);
  std::shuffle(doomed.begin(), doomed.end(), std::mt19937(6));
  std::set<int> gone(doomed.begin(), doomed.end());
  uint64_t before = AllocatedBytes(dir_);
  t0 = std::chrono::steady_clock::now();
  for (int i : doomed) {
    Status s = v_->DeleteSnapshot(Name(i));
    ASSERT_TRUE(s.ok()) << Name(i) << ": " << s.message();
  }
  double delete_s = Since(t0);
  uint64_t after = AllocatedBytes(dir_);
  // Every deleted snapshot held its own copy of the hot chunk, which a later
  // one overwrote: all of them but the one folded into base are freed.
  uint64_t freed = before > after ? before - after : 0;
  uint64_t bound = (doomed.size() - 1) * kChunk;
  std::printf("allocated %.1f MiB before the deletes, %.1f MiB after: %.1f MiB freed (lower bound %.1f MiB)\n",
              before / 1048576.0, after / 1048576.0, freed / 1048576.0, bound / 1048576.0);
  EXPECT_GE(freed, bound);

  // 3. Reopen: 5,000 snapshots in order with their fingerprints.
  ASSERT_TRUE(v_->Close().ok());
  t0 = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(Open());
  double reopen_s = Since(t0);
  std::printf("create %d snapshots: %.2f s; delete %zu: %.2f s; reopen: %.3f s\n", kSnaps, create_s, doomed.size(),
              delete_s, reopen_s);
  const vol::VolumeState& st = v_->state();
  std::vector<int> kept;
  for (int i = 0; i < kSnaps; i++)
    if (!gone.count(i)) kept.push_back(i);
  ASSERT_EQ(st.snaps.size(), kept.size());
  for (size_t p = 0; p < kept.size(); p++) {
    ASSERT_EQ(st.snaps[p].name, Name(kept[p])) << "position " << p;
    if (p > 0) {
      ASSERT_LT(st.snaps[p - 1].id, st.snaps[p].id) << "position " << p;
    }
    ASSERT_EQ(st.snaps[p].fingerprint, expected[kept[p]]) << Name(kept[p]);
  }
  Bytes live = ReadLive(v_.get());
  EXPECT_EQ(FingerprintOf(live, kShift), live_fp);

  // 4. ~30 sampled snapshots (the first and the last among them) read whole
  // through SnapshotView, against a model rebuilt from the writes.
  std::set<size_t> sample;
  for (size_t k = 0; k < 30; k++) sample.insert(k * (kept.size() - 1) / 29);
  t0 = std::chrono::steady_clock::now();
  Bytes model(kSize, 0), first_image;
  size_t p = 0;
  for (int i = 0; i < kSnaps && p < kept.size(); i++) {
    for (const ChunkWrite& w : WritesOf(i)) Put(&model, w.chunk << kShift, ChunkData(w.seed));
    if (i != kept[p]) continue;
    if (sample.count(p)) {
      auto b = ReadSnapshot(env_, dir_, st, int(p));
      ASSERT_TRUE(b.ok()) << Name(i) << ": " << b.status().message();
      ASSERT_EQ(FingerprintOf(*b, kShift), expected[i]) << Name(i);
      ASSERT_TRUE(*b == model) << Name(i) << " does not read back as written";
      if (p == 0) first_image = model;
    }
    p++;
  }
  ASSERT_EQ(p, kept.size());
  std::printf("read and checked %zu snapshots: %.2f s\n", sample.size(), Since(t0));

  // 5. A delta from the oldest to the newest remaining snapshot (merging
  // 4,999 indexes) verifies against the oldest's image. It runs under the
  // usual default of 1024 open files: the merge must not hold one
  // descriptor per index.
  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  struct rlimit low = old_limit;
  if (low.rlim_cur == RLIM_INFINITY || low.rlim_cur > 1024) low.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  vol::VolumeDeltaOptions o;
  o.from = Name(kept.front());
  o.to = Name(kept.back());
  std::string out_path = tmp_ + "/d.delta";
  vol::VolumeDeltaResult r;
  t0 = std::chrono::steady_clock::now();
  {
    auto out = env_->Open(out_path, OpenMode::kCreate);
    ASSERT_TRUE(out.ok()) << out.status().message();
    Status s = vol::WriteVolumeDelta(env_, dir_, o, out->get(), &r);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  double delta_s = Since(t0);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old_limit), 0);
  EXPECT_EQ(r.base.fingerprint, expected[kept.front()]);
  EXPECT_EQ(r.target.fingerprint, expected[kept.back()]);
  EXPECT_EQ(r.snapshots_merged, kept.size() - 1);
  Bytes delta = ReadFileBytes(out_path);
  Status vs = VerifyBytes(delta, &first_image);
  EXPECT_TRUE(vs.ok()) << vs.message();
  std::printf("delta %s..%s: %.2f s, %.1f MiB\n", o.from.c_str(), o.to.c_str(), delta_s, delta.size() / 1048576.0);
}

}  // namespace
}  // namespace ddl::test
