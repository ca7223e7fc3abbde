// volume_replica_test.cc - what a replica volume needs of snapcore:
// snapshots sealed with a given identity, a revert to the head's parent that
// leaves the head clean, deltafiles applied into a volume (and refused with
// the volume untouched), crashes during an apply, and volume deltas that are
// the same bytes on every run.
#include <map>

#include "deltafile/reader.h"
#include "snapcore/volume_apply.h"
#include "snapcore/volume_delta.h"
#include "tests/snapcore/volume_test_util.h"

namespace ddl::test {
namespace {

constexpr uint64_t kSize = 256 * 1024;  // 64 chunks of 4 KiB
constexpr uint32_t kShift = 12;

std::unique_ptr<vol::Volume> OpenVolume(Env* env, const std::string& dir) {
  auto r = vol::Volume::Open(env, dir, vol::OpenOptions());
  EXPECT_TRUE(r.ok()) << dir << ": " << r.status().message();
  return r.ok() ? std::move(r.value()) : nullptr;
}

Status WriteBytes(vol::Volume* v, uint64_t off, const Bytes& b) { return v->Write(off, b.data(), b.size()); }

// Writes a volume delta from..to of `dir` into `path` (replaced).
Status MakeVolumeDelta(Env* env, const std::string& dir, const std::string& from, const std::string& to,
                       const std::string& path, int threads = 1) {
  vol::VolumeDeltaOptions o;
  o.from = from;
  o.to = to;
  o.threads = threads;
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> out, env->Open(path, OpenMode::kCreate));
  vol::VolumeDeltaResult r;
  DDL_RETURN_IF_ERROR(vol::WriteVolumeDelta(env, dir, o, out.get(), &r));
  return out->Sync();
}

// What a refused apply must leave as it was.
struct Snapshot {
  std::vector<std::pair<Uuid, Fingerprint>> snaps;
  uint64_t head_chunks = 0;
  Bytes live;
  bool operator==(const Snapshot& o) const {
    return snaps == o.snaps && head_chunks == o.head_chunks && live == o.live;
  }
};

Snapshot Capture(vol::Volume* v) {
  Snapshot s;
  for (const vol::SnapshotInfo& i : v->state().snaps) s.snaps.emplace_back(i.uuid, i.fingerprint);
  s.head_chunks = v->head_chunks();
  s.live = ReadLive(v);
  return s;
}

// A source volume "src" with random writes (whole chunks, partial chunks,
// zeros) and snapshots s1..s4, its images kept; deltas seed..s1, s1..s2,
// s2..s3, s3..s4 as d1..d4.
class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildSource(&env_); }

  void BuildSource(MemEnv* env) {
    vol::CreateOptions c;
    c.size = kSize;
    c.chunk_shift = kShift;
    ASSERT_TRUE(vol::Volume::Create(env, "src", c).ok());
    std::unique_ptr<vol::Volume> v = OpenVolume(env, "src");
    ASSERT_TRUE(v);
    Bytes model(kSize, 0);
    for (int s = 1; s <= 4; s++) {
      for (int k = 0; k < 6; k++) {
        uint64_t seed = uint64_t(s * 100 + k);
        uint64_t off = (seed * 7919) % (kSize - 20000);
        if (k % 3 == 1) off &= ~uint64_t(4095);
        if (k == 0) off = 8192 + uint64_t(s) * 100;  // every snapshot rewrites chunks 2-4
        Bytes b = k == 5 && s > 1 ? Bytes(8192, 0) : RandomBytes(1000 + (seed * 131) % 12000, seed);
        Put(&model, off, b);
        ASSERT_TRUE(WriteBytes(v.get(), off, b).ok());
      }
      auto r = v->CreateSnapshot("s" + std::to_string(s));
      ASSERT_TRUE(r.ok()) << r.status().message();
      images_.push_back(model);
    }
    ASSERT_TRUE(v->Close().ok());
    v.reset();
    ASSERT_TRUE(MakeVolumeDelta(env, "src", "", "s1", "d1").ok());
    for (int s = 2; s <= 4; s++)
      ASSERT_TRUE(
          MakeVolumeDelta(env, "src", "s" + std::to_string(s - 1), "s" + std::to_string(s), "d" + std::to_string(s))
              .ok());
    auto m = vol::Manifest::Open(env, "src", false);
    ASSERT_TRUE(m.ok());
    src_ = (*m)->state();
  }

  // A replica volume `dir` with the source's volume UUID (or `uuid`).
  std::unique_ptr<vol::Volume> MakeReplica(Env* env, const std::string& dir, Uuid uuid = Uuid(),
                                           uint64_t size = kSize) {
    vol::CreateOptions c;
    c.size = size;
    c.chunk_shift = kShift;
    c.volume = uuid.IsNil() ? src_.volume : uuid;
    EXPECT_TRUE(vol::Volume::Create(env, dir, c).ok());
    return OpenVolume(env, dir);
  }

  Status Apply(Env* env, vol::Volume* v, int k, vol::VolumeApplyResult* r = nullptr) {
    vol::VolumeApplyResult local;
    vol::VolumeApplyOptions o;
    o.name = "s" + std::to_string(k);
    return vol::ApplyDeltaToVolume(env, v, "d" + std::to_string(k), v->state().ParentIdentity(), o, r ? r : &local);
  }

  // Snapshot k-1 of the replica is the source's: identity, name, content.
  void ExpectSameAsSource(Env* env, const std::string& dir, vol::Volume* v, size_t count) {
    const vol::VolumeState& st = v->state();
    ASSERT_EQ(st.snaps.size(), count);
    for (size_t i = 0; i < count; i++) {
      EXPECT_EQ(st.snaps[i].uuid, src_.snaps[i].uuid) << i;
      EXPECT_EQ(st.snaps[i].fingerprint, src_.snaps[i].fingerprint) << i;
      EXPECT_EQ(st.snaps[i].name, src_.snaps[i].name) << i;
      auto b = ReadSnapshot(env, dir, st, int(i));
      ASSERT_TRUE(b.ok()) << b.status().message();
      EXPECT_TRUE(*b == images_[i]) << "snapshot " << i;
    }
    EXPECT_TRUE(v->HeadClean());
    EXPECT_TRUE(ReadLive(v) == images_[count - 1]);
  }

  MemEnv env_;
  vol::VolumeState src_;
  std::vector<Bytes> images_;  // s1..s4
};

TEST_F(ReplicaTest, SnapshotWithAGivenIdentity) {
  std::unique_ptr<vol::Volume> v = MakeReplica(&env_, "r");
  ASSERT_TRUE(WriteBytes(v.get(), 4096, RandomBytes(6000, 1)).ok());
  Bytes model(kSize, 0);
  Put(&model, 4096, RandomBytes(6000, 1));
  Snapshot before = Capture(v.get());

  vol::SnapshotSpec spec;
  spec.name = "given";
  spec.uuid = Uuid::Random();
  spec.create_ns = 123456789;
  spec.check_fingerprint = true;
  spec.fingerprint = FingerprintOf(images_[0], kShift);  // not this content
  auto bad = v->CreateSnapshot(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kCorruption) << bad.status().message();
  EXPECT_NE(bad.status().message().find("expected " + spec.fingerprint.Hex()), std::string::npos);
  EXPECT_TRUE(Capture(v.get()) == before);
  EXPECT_FALSE(env_.Exists(vol::SegmentIndexPath("r", v->state().head_id, 1)));
  v.reset();
  v = OpenVolume(&env_, "r");
  EXPECT_TRUE(Capture(v.get()) == before);

  spec.fingerprint = FingerprintOf(model, kShift);
  auto good = v->CreateSnapshot(spec);
  ASSERT_TRUE(good.ok()) << good.status().message();
  v.reset();
  v = OpenVolume(&env_, "r");
  ASSERT_EQ(v->state().snaps.size(), 1u);
  const vol::SnapshotInfo& s = v->state().snaps[0];
  EXPECT_EQ(s.name, "given");
  EXPECT_EQ(s.uuid, spec.uuid);
  EXPECT_EQ(s.create_ns, 123456789u);
  EXPECT_EQ(s.fingerprint, spec.fingerprint);
  EXPECT_TRUE(v->HeadClean());

  // The same UUID again: kExists, nothing sealed.
  ASSERT_TRUE(WriteBytes(v.get(), 0, RandomBytes(4096, 2)).ok());
  vol::SnapshotSpec again;
  again.uuid = spec.uuid;
  auto dup = v->CreateSnapshot(again);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().code(), Code::kExists);
  EXPECT_EQ(v->state().snaps.size(), 1u);
}

TEST_F(ReplicaTest, RevertToTheParentLeavesACleanHead) {
  std::unique_ptr<vol::Volume> v = MakeReplica(&env_, "r");
  // No snapshot: back to the origin.
  ASSERT_TRUE(WriteBytes(v.get(), 0, RandomBytes(20000, 3)).ok());
  ASSERT_TRUE(v->Flush().ok());
  EXPECT_FALSE(v->HeadClean());
  Status s = v->Revert("origin", nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(v->HeadClean());
  EXPECT_TRUE(ReadLive(v.get()) == Bytes(kSize, 0));
  v.reset();
  v = OpenVolume(&env_, "r");
  EXPECT_TRUE(v->HeadClean());
  EXPECT_TRUE(ReadLive(v.get()) == Bytes(kSize, 0));

  // Snapshots a, b; b deleted into the head (its chunks' owner unknown in
  // memory), then a revert to a, now the parent.
  Bytes model(kSize, 0);
  Bytes w1 = RandomBytes(4096 * 6, 4), w2 = RandomBytes(4096 * 4, 5), w3 = RandomBytes(3000, 6);
  ASSERT_TRUE(WriteBytes(v.get(), 0, w1).ok());
  Put(&model, 0, w1);
  ASSERT_TRUE(v->CreateSnapshot("a").ok());
  Bytes at_a = model;
  ASSERT_TRUE(WriteBytes(v.get(), 4096 * 2, w2).ok());
  ASSERT_TRUE(v->CreateSnapshot("b").ok());
  ASSERT_TRUE(v->DeleteSnapshot("b").ok());
  ASSERT_TRUE(WriteBytes(v.get(), 4096 * 30 + 17, w3).ok());
  EXPECT_FALSE(v->Revert("origin", nullptr).ok());  // snapshots exist
  s = v->Revert("a", nullptr);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(v->HeadClean());
  EXPECT_TRUE(ReadLive(v.get()) == at_a);
  // The head takes writes again, and a partial one patches the parent's bytes.
  Bytes w4 = RandomBytes(100, 7);
  ASSERT_TRUE(WriteBytes(v.get(), 4096 * 3 + 50, w4).ok());
  Put(&at_a, 4096 * 3 + 50, w4);
  EXPECT_TRUE(ReadLive(v.get()) == at_a);
  auto c = v->CreateSnapshot("c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->fingerprint, FingerprintOf(at_a, kShift));
  v.reset();
  v = OpenVolume(&env_, "r");
  EXPECT_TRUE(ReadLive(v.get()) == at_a);
  auto b = ReadSnapshot(&env_, "r", v->state(), 0);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*b == model);
}

TEST_F(ReplicaTest, AppliesASeedAndDeltasWithTheSourcesIdentity) {
  std::unique_ptr<vol::Volume> v = MakeReplica(&env_, "r");
  for (int k = 1; k <= 4; k++) {
    vol::VolumeApplyResult r;
    Status s = Apply(&env_, v.get(), k, &r);
    ASSERT_TRUE(s.ok()) << "d" << k << ": " << s.message();
    EXPECT_EQ(r.snapshot.uuid, src_.snaps[k - 1].uuid);
    EXPECT_GT(r.bytes_written, 0u);
    EXPECT_GT(r.chunks_written, 0u);
    ExpectSameAsSource(&env_, "r", v.get(), size_t(k));
  }
  v.reset();
  v = OpenVolume(&env_, "r");
  ExpectSameAsSource(&env_, "r", v.get(), 4);
  // The replica's own delta of the same snapshots has the source's identities.
  ASSERT_TRUE(MakeVolumeDelta(&env_, "r", "s2", "s4", "r24").ok());
  Status vs = VerifyBytes(env_.Get("r24"), &images_[1]);
  EXPECT_TRUE(vs.ok()) << vs.message();
}

TEST_F(ReplicaTest, RefusalsLeaveTheVolumeAsItWas) {
  std::unique_ptr<vol::Volume> v = MakeReplica(&env_, "r");
  ASSERT_TRUE(Apply(&env_, v.get(), 1).ok());
  vol::VolumeApplyResult r;
  auto refused = [&](const std::string& delta, const Identity& base, Code want, const std::string& what) {
    Snapshot before = Capture(v.get());
    Status s = vol::ApplyDeltaToVolume(&env_, v.get(), delta, base, vol::VolumeApplyOptions(), &r);
    EXPECT_EQ(s.code(), want) << what << ": " << s.message();
    EXPECT_TRUE(Capture(v.get()) == before) << what;
  };
  Identity parent = v->state().ParentIdentity();
  refused("d3", parent, Code::kWrongBase, "a delta whose base is not the head");
  refused("d2", src_.snaps[2].identity(), Code::kWrongBase, "the caller expects another base");
  refused("d1", parent, Code::kWrongBase, "a seed onto a volume with snapshots");

  Bytes flipped = env_.Get("d2");
  flipped[flipped.size() / 2] ^= 0x40;
  env_.Put("d2-bad", flipped);
  refused("d2-bad", parent, Code::kCorruption, "a corrupted delta");
  Bytes cut = env_.Get("d2");
  cut.resize(cut.size() - 100);
  env_.Put("d2-cut", cut);
  {
    Snapshot before = Capture(v.get());
    EXPECT_FALSE(vol::ApplyDeltaToVolume(&env_, v.get(), "d2-cut", parent, {}, &r).ok());
    EXPECT_TRUE(Capture(v.get()) == before);
  }

  // A chunk d2 changes that is not what d2 expects, though the manifest
  // says the fingerprint is right (damage behind the volume's back).
  {
    Bytes mine = ReadLive(v.get()), want = images_[1];
    size_t c = 0;
    while (c < kSize / 4096 &&
           std::equal(mine.begin() + c * 4096, mine.begin() + (c + 1) * 4096, want.begin() + c * 4096))
      c++;
    ASSERT_LT(c, kSize / 4096);
    auto view = vol::SnapshotView::Open(&env_, "r", v->state(), 0);
    ASSERT_TRUE(view.ok());
    uint64_t owner = (*view)->OwnerOf(c);
    std::string seg = owner == 0 ? vol::BasePath("r") : vol::SegmentDataPath("r", owner);
    Bytes data = env_.Get(seg);
    data[c * 4096] ^= 1;
    env_.Put(seg, data);
    v.reset();
    v = OpenVolume(&env_, "r");
    refused("d2", parent, Code::kWrongBase, "a changed chunk with another base hash");
    data[c * 4096] ^= 1;
    env_.Put(seg, data);
    v.reset();
    v = OpenVolume(&env_, "r");
  }

  for (const char* name : {"a/b", "s1"}) {  // refused before a byte is written
    Snapshot before = Capture(v.get());
    vol::VolumeApplyOptions o;
    o.name = name;
    Status s = vol::ApplyDeltaToVolume(&env_, v.get(), "d2", parent, o, &r);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << name << ": " << s.message();
    EXPECT_TRUE(Capture(v.get()) == before) << name;
  }

  ASSERT_TRUE(WriteBytes(v.get(), 0, RandomBytes(100, 9)).ok());
  refused("d2", parent, Code::kWrongBase, "a head whose content is not the base");
  ASSERT_TRUE(v->Revert("s1", nullptr).ok());

  std::unique_ptr<vol::Volume> foreign = MakeReplica(&env_, "f", Uuid::Random());
  {
    Snapshot before = Capture(foreign.get());
    Status s = vol::ApplyDeltaToVolume(&env_, foreign.get(), "d1", Identity(), {}, &r);
    EXPECT_EQ(s.code(), Code::kForeign) << s.message();
    EXPECT_TRUE(Capture(foreign.get()) == before);
  }
  std::unique_ptr<vol::Volume> small = MakeReplica(&env_, "small", Uuid(), kSize / 2);
  {
    Status s = vol::ApplyDeltaToVolume(&env_, small.get(), "d1", Identity(), {}, &r);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.message();
    EXPECT_TRUE(small->state().snaps.empty());
  }

  // A seed onto an imported (non-zero) origin, though no snapshot exists.
  {
    env_.Put("image", images_[0]);
    vol::CreateOptions c;
    c.volume = src_.volume;
    ASSERT_TRUE(vol::Volume::Import(&env_, "imported", "image", c).ok());
    std::unique_ptr<vol::Volume> imp = OpenVolume(&env_, "imported");
    Status s = vol::ApplyDeltaToVolume(&env_, imp.get(), "d1", Identity(), {}, &r);
    EXPECT_EQ(s.code(), Code::kWrongBase) << s.message();
    EXPECT_TRUE(imp->state().snaps.empty());
    EXPECT_TRUE(imp->HeadClean());
  }

  // After all that, the right delta still applies.
  Status s = Apply(&env_, v.get(), 2);
  ASSERT_TRUE(s.ok()) << s.message();
  ExpectSameAsSource(&env_, "r", v.get(), 2);
}

// An apply crashed at its k-th mutating call, for every k: after a reopen
// and a revert to the parent, applying again gives the source's snapshot.
TEST_F(ReplicaTest, CrashAtEveryWriteOfAnApply) {
  FaultInjectionEnv fenv;
  for (const char* f : {"d1", "d2", "d3", "d4"}) fenv.Put(f, env_.Get(f));
  // How many mutating calls an apply of each delta makes, without crashes.
  std::vector<uint64_t> calls(5, 0);
  {
    std::unique_ptr<vol::Volume> v = MakeReplica(&fenv, "count");
    for (int k = 1; k <= 4; k++) {
      uint64_t t = fenv.ticks();
      ASSERT_TRUE(Apply(&fenv, v.get(), k).ok());
      calls[k] = fenv.ticks() - t;
    }
  }
  int crashes = 0, replica = 0;
  for (int k = 1; k <= 4; k++) {
    for (uint64_t at = 1; at <= calls[k] + 1; at++) {
      std::string dir = "r" + std::to_string(replica++);
      std::unique_ptr<vol::Volume> v = MakeReplica(&fenv, dir);
      for (int j = 1; j < k; j++) ASSERT_TRUE(Apply(&fenv, v.get(), j).ok());
      fenv.CrashAfter(at);
      Status s = Apply(&fenv, v.get(), k);
      bool crashed = fenv.crashed();
      v.reset();  // the process is gone
      fenv.DropUnsyncedData();
      crashes += crashed;
      if (!crashed) {
        ASSERT_TRUE(s.ok()) << s.message();
      }
      v = OpenVolume(&fenv, dir);
      ASSERT_TRUE(v) << "d" << k << " crashed at call " << at;
      const vol::VolumeState& st = v->state();
      bool sealed = st.snaps.size() == size_t(k) && st.snaps.back().uuid == src_.snaps[k - 1].uuid;
      if (!sealed) {
        ASSERT_EQ(st.snaps.size(), size_t(k - 1)) << "d" << k << " at " << at;
        // The revert is crashed too, at its 1st, 2nd, ... call, until it
        // completes; every crash leaves the head as it was or clean.
        const std::string parent = k == 1 ? "origin" : "s" + std::to_string(k - 1);
        for (uint64_t rat = 1; !v->HeadClean(); rat++) {
          fenv.CrashAfter(rat);
          Status rs = v->Revert(parent, nullptr);
          if (!fenv.crashed()) {
            ASSERT_TRUE(rs.ok()) << rs.message();
            break;
          }
          v.reset();
          fenv.DropUnsyncedData();
          v = OpenVolume(&fenv, dir);
          ASSERT_TRUE(v);
          ASSERT_EQ(v->state().snaps.size(), size_t(k - 1));
        }
        fenv.CrashAfter(uint64_t(1) << 60);  // no more crashes
        Status again = Apply(&fenv, v.get(), k);
        ASSERT_TRUE(again.ok()) << "d" << k << " after a crash at call " << at << ": " << again.message();
      }
      ExpectSameAsSource(&fenv, dir, v.get(), size_t(k));
      if (HasFailure()) return;
      v.reset();
      auto names = fenv.ListDir(dir);
      ASSERT_TRUE(names.ok());
      for (const std::string& n : *names) ASSERT_TRUE(fenv.Remove(dir + "/" + n).ok());
    }
  }
  EXPECT_GT(crashes, 20);
}

TEST_F(ReplicaTest, VolumeDeltasAreTheSameBytesOnEveryRun) {
  for (int threads : {1, 4}) {
    ASSERT_TRUE(MakeVolumeDelta(&env_, "src", "", "s2", "seed-" + std::to_string(threads), threads).ok());
    ASSERT_TRUE(MakeVolumeDelta(&env_, "src", "s1", "s4", "d14-" + std::to_string(threads), threads).ok());
  }
  ASSERT_TRUE(MakeVolumeDelta(&env_, "src", "s1", "s4", "d14-again", 4).ok());
  EXPECT_TRUE(env_.Get("seed-1") == env_.Get("seed-4"));
  EXPECT_TRUE(env_.Get("d14-1") == env_.Get("d14-4"));
  EXPECT_TRUE(env_.Get("d14-1") == env_.Get("d14-again"));
  // The header's time is the target snapshot's.
  auto f = env_.Open("d14-1", OpenMode::kRead);
  ASSERT_TRUE(f.ok());
  auto rr = RandomReader::Open(f->get());
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ((*rr)->header().create_time_ns, src_.snaps[3].create_ns);
}

}  // namespace
}  // namespace ddl::test
