// apply_fault_test - crash apply at every mutating I/O operation, drop what
// was not synced (a power cut), re-run: the image always converges to the
// target, and the state never says "at target" while the image differs.
#include <gtest/gtest.h>

#include "backup/apply.h"
#include "backup/apply_state.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

struct Fixture {
  Bytes v0, v1, v2;
  Bytes d01, d12;
  Fixture() {
    v0 = TextBytes(2 << 20, 1);
    Put(&v0, 1 << 20, RandomBytes(512 << 10, 2));
    v1 = v0;
    Put(&v1, 10000, RandomBytes(300000, 3));
    Put(&v1, 1500000, Bytes(100000, 0));
    v2 = v1;
    Put(&v2, 700000, TextBytes(400000, 4));
    WriterOptions w;
    w.chunk_shift = 14;
    d01 = MakeDelta(&v0, v1, w);
    d12 = MakeDelta(&v1, v2, w);
  }
};

Status RunApply(FaultInjectionEnv* env, ApplyReport* rep) {
  ApplyOptions o;
  o.env = env;
  o.checkpoint_bytes = 64 << 10;  // many checkpoints: many crash points
  o.threads = 0;
  return ApplyChain({"d01", "d12"}, "img", o, rep);
}

TEST(ApplyFault, EveryCrashPointConverges) {
  Fixture fx;
  int points = 0;
  for (uint64_t n = 1;; n++) {
    FaultInjectionEnv env;
    env.Put("d01", fx.d01);
    env.Put("d12", fx.d12);
    env.Put("img", fx.v0);
    env.CrashAfter(n);
    ApplyReport rep;
    Status s = RunApply(&env, &rep);
    if (s.ok()) {
      ASSERT_FALSE(env.crashed());
      EXPECT_TRUE(env.Get("img") == fx.v2);
      break;  // n passed the last mutating operation
    }
    ASSERT_TRUE(env.crashed()) << s.message();
    points++;
    env.DropUnsyncedData();
    // Invariant: a state that says "at X" is true of the image.
    ApplyState st;
    bool found = false;
    ASSERT_TRUE(LoadApplyState(&env, "img.ddloop-state", &st, &found).ok()) << "state file damaged at crash " << n;
    if (found && st.phase == ApplyState::Phase::kAt) {
      Bytes img = env.Get("img");
      EXPECT_TRUE(img == fx.v1 || img == fx.v2) << "crash " << n << ": state says at a target the image lacks";
    }
    // Re-running the same command finishes the job, twice over is harmless.
    ApplyReport rep2;
    Status s2 = RunApply(&env, &rep2);
    ASSERT_TRUE(s2.ok()) << "crash point " << n << ": " << s2.message();
    EXPECT_TRUE(env.Get("img") == fx.v2) << "crash point " << n;
    ApplyReport rep3;
    ASSERT_TRUE(RunApply(&env, &rep3).ok());
    EXPECT_EQ(rep3.applied, 0);
  }
  EXPECT_GE(points, 50) << "too few crash points exercised";
}

TEST(ApplyFault, DoubleCrashConverges) {
  Fixture fx;
  for (uint64_t n = 3; n < 60; n += 7) {
    FaultInjectionEnv env;
    env.Put("d01", fx.d01);
    env.Put("d12", fx.d12);
    env.Put("img", fx.v0);
    ApplyReport rep;
    env.CrashAfter(n);
    if (RunApply(&env, &rep).ok()) break;
    env.DropUnsyncedData();
    env.CrashAfter(n / 2 + 1);
    (void)RunApply(&env, &rep);
    env.DropUnsyncedData();
    ASSERT_TRUE(RunApply(&env, &rep).ok());
    EXPECT_TRUE(env.Get("img") == fx.v2) << n;
  }
}

TEST(ApplyFault, PendingApplyOfAnotherDeltaIsRefused) {
  Fixture fx;
  FaultInjectionEnv env;
  env.Put("d01", fx.d01);
  env.Put("d12", fx.d12);
  env.Put("img", fx.v0);
  env.CrashAfter(8);
  ApplyReport rep;
  ApplyOptions o;
  o.env = &env;
  o.checkpoint_bytes = 64 << 10;
  ASSERT_FALSE(ApplyChain({"d01"}, "img", o, &rep).ok());
  env.DropUnsyncedData();
  const Bytes before = env.Get("img");
  Status s = ApplyChain({"d12"}, "img", o, &rep);
  EXPECT_EQ(s.code(), Code::kWrongBase) << s.message();
  EXPECT_NE(s.message().find("interrupted apply"), std::string::npos) << s.message();
  EXPECT_TRUE(env.Get("img") == before);
}

TEST(ApplyFault, ModifiedImageIsNotTrustedFromState) {
  Fixture fx;
  MemEnv env;
  env.Put("d01", fx.d01);
  env.Put("d12", fx.d12);
  env.Put("img", fx.v0);
  ApplyOptions o;
  o.env = &env;
  ApplyReport rep;
  ASSERT_TRUE(ApplyChain({"d01"}, "img", o, &rep).ok());
  // Someone writes to the image behind our back: the state is stale.
  auto f = env.Open("img", OpenMode::kReadWrite);
  const Bytes junk = RandomBytes(4096, 99);
  ASSERT_TRUE((*f)->WriteAt(3 << 16, junk.data(), junk.size()).ok());
  const Bytes before = env.Get("img");
  Status s = ApplyChain({"d12"}, "img", o, &rep);
  EXPECT_EQ(s.code(), Code::kWrongBase) << s.message();
  EXPECT_EQ(rep.base_check.rfind("full fingerprint", 0), 0u) << rep.base_check;
  EXPECT_TRUE(env.Get("img") == before);
}

TEST(ApplyState, EncodeDecodeAndDamage) {
  ApplyState s;
  s.phase = ApplyState::Phase::kApplying;
  s.volume_uuid = Uuid::Random();
  s.volume_size = 123 * 512;
  s.chunk_shift = 16;
  s.current.fingerprint.lane[2] = 42;
  s.target.snapshot = Uuid::Random();
  s.delta_csum = 0xdeadbeef;
  s.done_records = 17;
  auto encoded = s.Encode("x");
  ASSERT_TRUE(encoded.ok()) << encoded.status().message();
  const std::string text = *encoded;
  auto d = ApplyState::Decode(text, "x");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->done_records, 17u);
  EXPECT_EQ(d->delta_csum, 0xdeadbeefu);
  EXPECT_TRUE(d->target.snapshot == s.target.snapshot);
  EXPECT_TRUE(d->current.fingerprint == s.current.fingerprint);
  for (size_t i = 0; i < text.size(); i++) {
    std::string t = text;
    t[i] ^= 0x04;
    EXPECT_FALSE(ApplyState::Decode(t, "x").ok()) << i;
  }
  EXPECT_FALSE(ApplyState::Decode(text.substr(0, text.size() / 2), "x").ok());
}

}  // namespace
}  // namespace ddl::test
