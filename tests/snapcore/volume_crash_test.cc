// volume_crash_test.cc - a volume under random writes, flushes, snapshots,
// deletes and reverts, crashed at random I/O calls by FaultInjectionEnv
// (unsynced data dropped, as by a power cut), reopened and checked, again
// and again on the same volume: every flushed write reads back, unflushed
// ones read old or new content, every snapshot reads back with its recorded
// fingerprint, an interrupted revert finishes on re-run. LevelDB's
// fault_injection_test is the model.
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "snapcore/volume_delta.h"
#include "tests/snapcore/volume_test_util.h"

namespace ddl::test {
namespace {

constexpr uint64_t kSize = 256 * 1024;  // 64 chunks
constexpr uint64_t kChunk = 4096;
const std::string kDir = "vol";

struct Model {
  Bytes current;                             // what the live volume holds now
  std::vector<std::vector<Bytes>> accept;    // per chunk: contents a crash may leave
  std::map<std::string, Bytes> snaps;        // committed
  std::map<std::string, Bytes> maybe_snaps;  // creation interrupted
  std::set<std::string> maybe_deleted;       // deletion interrupted
  const Bytes* maybe_reverted = nullptr;     // revert interrupted: may have completed
  Bytes revert_target;

  Bytes Chunk(const Bytes& b, size_t c) const { return Bytes(b.begin() + c * kChunk, b.begin() + (c + 1) * kChunk); }
  void Settle() {  // everything now is durable
    accept.assign(kSize / kChunk, {});
    for (size_t c = 0; c < accept.size(); c++) accept[c].push_back(Chunk(current, c));
  }
  void Wrote(uint64_t off, size_t n) {
    for (uint64_t c = off / kChunk; c <= (off + n - 1) / kChunk; c++) accept[c].push_back(Chunk(current, c));
  }
};

class VolumeCrashTest : public ::testing::Test {
 protected:
  // Opens after a crash, finishing an interrupted revert; checks the volume
  // against the model, then makes the model exact again.
  void RecoverAndCheck() {
    vol::OpenOptions o;
    o.allow_pending_revert = true;
    auto r = vol::Volume::Open(&env_, kDir, o);
    ASSERT_TRUE(r.ok()) << "round " << round_ << ": " << r.status().message();
    std::unique_ptr<vol::Volume> v = std::move(r.value());
    const vol::VolumeState& st = v->state();
    bool finished_revert = false;
    if (st.revert_target != 0) {
      std::string name = st.snaps[st.IndexOfId(st.revert_target)].name;
      Status s = v->Revert(name, nullptr);
      ASSERT_TRUE(s.ok()) << "round " << round_ << ": re-run of revert: " << s.message();
      finished_revert = true;
      reverts_finished_++;
    }
    Bytes live = ReadLive(v.get());
    bool reverted = (finished_revert || m_.maybe_reverted) && live == m_.revert_target;
    if (finished_revert) {
      ASSERT_TRUE(reverted) << "round " << round_ << ": revert did not give the snapshot";
    }
    if (!reverted) {
      for (size_t c = 0; c < kSize / kChunk; c++) {
        Bytes got = m_.Chunk(live, c);
        bool ok = false;
        for (const Bytes& a : m_.accept[c]) ok |= (a == got);
        ASSERT_TRUE(ok) << "round " << round_ << ": chunk " << c
                        << " holds content never written or lost a flushed write";
      }
    }
    std::map<std::string, Bytes> now;
    for (size_t i = 0; i < st.snaps.size(); i++) {
      const std::string& n = st.snaps[i].name;
      const Bytes* want = m_.snaps.count(n) ? &m_.snaps[n] : m_.maybe_snaps.count(n) ? &m_.maybe_snaps[n] : nullptr;
      ASSERT_TRUE(want != nullptr) << "round " << round_ << ": unexpected snapshot " << n;
      auto b = ReadSnapshot(&env_, kDir, st, int(i));
      ASSERT_TRUE(b.ok()) << b.status().message();
      ASSERT_TRUE(*b == *want) << "round " << round_ << ": snapshot " << n << " changed";
      ASSERT_EQ(st.snaps[i].fingerprint, FingerprintOf(*b, 12)) << "round " << round_ << ": " << n << "\n" << log_;
      now[n] = *b;
    }
    for (const auto& kv : m_.snaps)
      ASSERT_TRUE(now.count(kv.first) || m_.maybe_deleted.count(kv.first))
          << "round " << round_ << ": lost " << kv.first;
    if (st.snaps.size() >= 2 && round_ % 8 == 0) {
      vol::VolumeDeltaOptions d;
      d.from = st.snaps.front().name;
      d.to = st.snaps.back().name;
      auto out = env_.Open("d.delta", OpenMode::kCreate);
      ASSERT_TRUE(out.ok());
      vol::VolumeDeltaResult res;
      Status s = vol::WriteVolumeDelta(&env_, kDir, d, out->get(), &res);
      ASSERT_TRUE(s.ok()) << s.message();
      out->reset();
      Bytes base = now[d.from];
      ASSERT_TRUE(VerifyBytes(env_.Get("d.delta"), &base).ok());
    }
    m_.snaps = now;
    m_.maybe_snaps.clear();
    m_.maybe_deleted.clear();
    m_.maybe_reverted = nullptr;
    m_.current = live;
    m_.Settle();
    ASSERT_TRUE(v->Close().ok());
  }

  // Random operations until the injected crash (or 40 operations).
  void Run(std::mt19937_64& rng) {
    vol::OpenOptions o;
    auto r = vol::Volume::Open(&env_, kDir, o);
    if (!r.ok()) return;  // crashed while opening
    std::unique_ptr<vol::Volume> v = std::move(r.value());
    for (int op = 0; op < 40 && !env_.crashed(); op++) {
      int what = int(rng() % 100);
      if (what >= 55)
        log_ += " op" + std::to_string(what) + (what < 70 ? "F" : what < 85 ? "S" : what < 95 ? "D" : "R");
      if (what < 55) {
        bool aligned = rng() % 3 != 0;
        uint64_t off = aligned ? (rng() % (kSize / kChunk)) * kChunk : rng() % (kSize - 1);
        size_t n = aligned ? size_t(kChunk * (1 + rng() % 4)) : size_t(1 + rng() % 9000);
        n = size_t(std::min<uint64_t>(n, kSize - off));
        Bytes data = rng() % 5 == 0 ? Bytes(n, 0) : RandomBytes(n, rng());
        Put(&m_.current, off, data);
        m_.Wrote(off, n);
        if (!v->Write(off, data.data(), n).ok()) break;
      } else if (what < 70) {
        if (!v->Flush().ok()) break;
        m_.Settle();
      } else if (what < 85) {
        std::string name = "s" + std::to_string(next_name_++);
        auto s = v->CreateSnapshot(name);
        if (!s.ok()) {
          m_.maybe_snaps[name] = m_.current;
          break;
        }
        m_.snaps[name] = m_.current;
        m_.Settle();
        {
          const vol::VolumeState& st = v->state();
          auto b = ReadSnapshot(&env_, kDir, st, int(st.snaps.size()) - 1);
          ASSERT_TRUE(b.ok() && *b == m_.current && st.snaps.back().fingerprint == FingerprintOf(*b, 12))
              << "round " << round_ << ": snapshot " << name << " wrong right after creation\n"
              << log_;
        }
      } else if (what < 95) {
        if (m_.snaps.empty()) continue;
        auto it = m_.snaps.begin();
        std::advance(it, rng() % m_.snaps.size());
        std::string name = it->first;
        {
          const vol::VolumeState& st = v->state();
          int pos = st.Find(name);
          log_ += pos == 0 ? "(fold)" : size_t(pos) + 1 == st.snaps.size() ? "(head)" : "(next)";
        }
        if (!v->DeleteSnapshot(name).ok()) {
          m_.maybe_deleted.insert(name);
          break;
        }
        m_.snaps.erase(name);
      } else {
        if (m_.snaps.empty()) continue;
        auto it = m_.snaps.begin();
        std::advance(it, rng() % m_.snaps.size());
        m_.revert_target = it->second;
        if (!v->Revert(it->first, nullptr).ok()) {
          m_.maybe_reverted = &m_.revert_target;
          break;
        }
        m_.current = it->second;
        m_.Settle();
      }
    }
    v.reset();  // after a crash its Close fails: nothing more reaches the "disk"
  }

  FaultInjectionEnv env_;
  Model m_;
  int round_ = 0;
  int next_name_ = 0;
  int reverts_finished_ = 0;
  std::string log_;  // operations so far, printed on failure
};

TEST_F(VolumeCrashTest, RandomCrashPoints) {
  vol::CreateOptions c;
  c.size = kSize;
  ASSERT_TRUE(vol::Volume::Create(&env_, kDir, c).ok());
  m_.current.assign(kSize, 0);
  m_.Settle();
  const char* seed = std::getenv("DDLOOP_CRASH_SEED");
  const char* want = std::getenv("DDLOOP_CRASH_POINTS");
  const int points = want ? std::atoi(want) : 250;
  std::mt19937_64 rng(seed ? std::strtoull(seed, nullptr, 10) : 20261125);
  int crashes = 0;
  for (round_ = 0; crashes < points && round_ < 8 * points; round_++) {
    env_.CrashAfter(1 + rng() % 80);
    Run(rng);
    if (env_.crashed()) crashes++;
    log_ += env_.crashed() ? " CRASH\n" : " end\n";
    env_.DropUnsyncedData();
    RecoverAndCheck();
    if (HasFatalFailure()) return;
  }
  EXPECT_GE(crashes, points);
  RecordProperty("crashes", crashes);
  RecordProperty("reverts_finished_after_crash", reverts_finished_);
  std::printf("crash points: %d in %d rounds; interrupted reverts finished on re-run: %d\n", crashes, round_,
              reverts_finished_);
}

}  // namespace
}  // namespace ddl::test
