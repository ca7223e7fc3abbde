// chain_test - a base plus a chain read as one volume: every byte equals the
// target at every point of the chain; bad chains are refused; a damaged
// record fails exactly the reads that touch it.
#include <gtest/gtest.h>

#include "deltafile/chain.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

struct Chain {
  MemEnv env;
  std::vector<Bytes> states;
  std::vector<std::string> names;
  Chain(int n, bool seed, uint64_t salt = 0) {
    Bytes v(5 * 1024 * 1024 + 512, 0);
    Put(&v, 0, TextBytes(2 << 20, 1 + salt));
    states.push_back(v);
    if (seed) {
      names.push_back("seed");
      env.Put("seed", MakeDelta(nullptr, v));
    }
    for (int i = 1; i <= n; i++) {
      Bytes w = states.back();
      Put(&w, (i * 311111) % (5 << 20), RandomBytes(40000 + i * 100, 100 + i));  // overlaps earlier changes
      Put(&w, (i * 777) % 4096 * 512, TextBytes(9000, 200 + i));
      if (i % 3 == 0) Put(&w, 3 << 20, Bytes(200000, 0));
      names.push_back("d" + std::to_string(i));
      env.Put(names.back(), MakeDelta(&states.back(), w));
      states.push_back(w);
    }
    env.Put("base", states[0]);
  }
  Result<std::unique_ptr<ChainReader>> Open(bool with_base, std::vector<std::string> which,
                                            std::vector<std::unique_ptr<File>>* files, ChainOptions o = {}) {
    std::vector<File*> ds;
    File* base = nullptr;
    if (with_base) {
      files->push_back(std::move(env.Open("base", OpenMode::kRead).value()));
      base = files->back().get();
    }
    for (auto& n : which) {
      files->push_back(std::move(env.Open(n, OpenMode::kRead).value()));
      ds.push_back(files->back().get());
    }
    return ChainReader::Open(base, ds, o);
  }
};

void ExpectReadsEqual(ChainReader* c, const Bytes& want) {
  ASSERT_EQ(c->size(), want.size());
  Bytes got(want.size());
  ASSERT_TRUE(c->Read(0, got.data(), got.size()).ok());
  EXPECT_TRUE(got == want);
  // Odd-sized reads at odd offsets.
  uint64_t seed = 7;
  for (int i = 0; i < 300; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t off = (seed >> 20) % want.size();
    size_t n = static_cast<size_t>((seed >> 5) % 300000) + 1;
    Bytes b(n, 0xee);
    ASSERT_TRUE(c->Read(off, b.data(), n).ok());
    size_t m = std::min<size_t>(n, want.size() - off);
    EXPECT_TRUE(std::equal(b.begin(), b.begin() + m, want.begin() + off)) << off << "+" << n;
  }
}

TEST(ChainReader, EveryPointOfTheChainReadsAsItsTarget) {
  Chain ch(6, false);
  for (size_t k = 1; k < ch.names.size() + 1; k++) {
    SCOPED_TRACE(k);
    std::vector<std::unique_ptr<File>> files;
    auto c = ch.Open(true, std::vector<std::string>(ch.names.begin(), ch.names.begin() + k), &files);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ExpectReadsEqual(c->get(), ch.states[k]);
  }
}

TEST(ChainReader, SeedChainNeedsNoBase) {
  Chain ch(3, true);
  std::vector<std::unique_ptr<File>> files;
  auto c = ch.Open(false, ch.names, &files);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectReadsEqual(c->get(), ch.states.back());
  std::vector<std::unique_ptr<File>> f2;
  EXPECT_EQ(ch.Open(true, ch.names, &f2).status().code(), Code::kInvalidArgument);
}

TEST(ChainReader, BadChainsAreRefused) {
  Chain ch(3, false);
  std::vector<std::unique_ptr<File>> files;
  // Out of order is put in order (chain_order.h); a gap is refused.
  auto shuffled = ch.Open(true, {"d3", "d1", "d2"}, &files);
  ASSERT_TRUE(shuffled.ok()) << shuffled.status().message();
  EXPECT_EQ((*shuffled)->order(), (std::vector<size_t>{1, 2, 0}));
  ExpectReadsEqual(shuffled->get(), ch.states.back());
  EXPECT_EQ(ch.Open(true, {"d1", "d3"}, &files).status().code(), Code::kBrokenChain);
  EXPECT_EQ(ch.Open(false, {"d1"}, &files).status().code(), Code::kWrongBase);  // needs a base
  Chain other(2, false, 99);  // a foreign delta: another volume's history
  ch.env.Put("foreign", other.env.Get("d2"));
  auto s = ch.Open(true, {"d1", "foreign"}, &files).status();
  EXPECT_EQ(s.code(), Code::kBrokenChain) << s.message();
  // The wrong base image.
  ch.env.Put("base", ch.states[2]);
  EXPECT_EQ(ch.Open(true, {"d1"}, &files).status().code(), Code::kWrongBase);
}

TEST(ChainReader, DamagedRecordFailsOnlyTheReadsTouchingIt) {
  Chain ch(1, false);
  Bytes d = ch.env.Get("d1");
  MemEnv probe;
  probe.Put("d", d);
  auto pf = probe.Open("d", OpenMode::kRead);
  auto rr = RandomReader::Open(pf->get());
  ASSERT_TRUE(rr.ok());
  const IndexEntry* victim = nullptr;
  for (const auto& e : (*rr)->entries())
    if (e.type == DDL_REC_DATA && e.length >= 8192) victim = &e;
  ASSERT_NE(victim, nullptr);
  d[victim->file_offset + victim->record_size - 5] ^= 0x40;  // inside its payload
  ch.env.Put("d1", d);
  std::vector<std::string> log;
  ChainOptions o;
  o.log = [&](const std::string& l) { log.push_back(l); };
  std::vector<std::unique_ptr<File>> files;
  auto c = ch.Open(true, {"d1"}, &files, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Bytes& want = ch.states[1];
  for (uint64_t off = 0; off < want.size(); off += 4096) {
    Bytes b(4096);
    Status s = (*c)->Read(off, b.data(), b.size());
    const bool touches = off + 4096 > victim->offset && off < victim->offset + victim->length;
    if (touches) {
      EXPECT_EQ(s.code(), Code::kCorruption) << off;
    } else {
      ASSERT_TRUE(s.ok()) << off << ": " << s.message();
      size_t m = std::min<size_t>(4096, want.size() - off);
      EXPECT_TRUE(std::equal(b.begin(), b.begin() + m, want.begin() + off)) << off;
    }
  }
  ASSERT_EQ(log.size(), 1u) << "logged once";
  EXPECT_NE(log[0].find("d1: record"), std::string::npos) << log[0];
}

TEST(ChainReader, LongChainsKeepOneMergedMap) {
  Chain ch(100, false);
  std::vector<std::unique_ptr<File>> files;
  auto c = ch.Open(true, ch.names, &files);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectReadsEqual(c->get(), ch.states.back());
  EXPECT_LT((*c)->extents(), 100u * 40u);
}

}  // namespace
}  // namespace ddl::test
