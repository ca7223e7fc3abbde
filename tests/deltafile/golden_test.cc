// golden_test - the committed golden deltafiles: valid ones decode to the
// committed images, invalid ones fail with their specific error, and the
// writer still produces the committed bytes exactly.
#include <gtest/gtest.h>

#include "backup/apply.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"
#include "tests/golden/golden_set.h"

namespace ddl::test {
namespace {

std::string Golden(const std::string& name) { return SourceDir() + "/golden/" + name; }

Bytes ApplyBytes(const std::vector<std::pair<std::string, Bytes>>& deltas, const Bytes& img) {
  MemEnv env;
  std::vector<std::string> names;
  for (auto& d : deltas) {
    env.Put(d.first, d.second);
    names.push_back(d.first);
  }
  env.Put("img", img);
  ApplyOptions o;
  o.env = &env;
  ApplyReport rep;
  Status s = ApplyChain(names, "img", o, &rep);
  EXPECT_TRUE(s.ok()) << s.message();
  return env.Get("img");
}

TEST(Golden, ValidFilesDecodeToTheirImages) {
  const Bytes v1 = ReadFileBytes(Golden("valid/v1.img"));
  const Bytes v2 = ReadFileBytes(Golden("valid/v2.img"));
  const Bytes v3 = ReadFileBytes(Golden("valid/v3.img"));
  struct Case {
    const char* delta;
    const Bytes* base;
    const Bytes* target;
  } cases[] = {
      {"valid/seed-v1.delta", nullptr, &v1},       {"valid/v1-v2.delta", &v1, &v2},
      {"valid/v1-v2-raw.delta", &v1, &v2},         {"valid/v1-v2-compat-bit.delta", &v1, &v2},
      {"valid/seed-v3-split.delta", nullptr, &v3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.delta);
    const Bytes d = ReadFileBytes(Golden(c.delta));
    Status s = VerifyBytes(d, c.base, c.delta);
    ASSERT_TRUE(s.ok()) << s.message();
    Bytes start = c.base ? *c.base : Bytes();
    EXPECT_TRUE(ApplyBytes({{c.delta, d}}, start) == *c.target);
  }
  // Seed then increment as one chain.
  EXPECT_TRUE(ApplyBytes({{"a", ReadFileBytes(Golden("valid/seed-v1.delta"))},
                          {"b", ReadFileBytes(Golden("valid/v1-v2.delta"))}},
                         Bytes()) == v2);
}

TEST(Golden, RandomReadsMatchTheTarget) {
  const Bytes v1 = ReadFileBytes(Golden("valid/v1.img"));
  const Bytes v2 = ReadFileBytes(Golden("valid/v2.img"));
  MemEnv env;
  env.Put("d", ReadFileBytes(Golden("valid/v1-v2.delta")));
  auto f = env.Open("d", OpenMode::kRead);
  auto rr = RandomReader::Open(f->get());
  ASSERT_TRUE(rr.ok()) << rr.status().message();
  Decompressor dz;
  // Overlay every record onto v1 through the index: gives v2.
  Bytes img = v1;
  for (size_t i = 0; i < (*rr)->entries().size(); i++) {
    Record r;
    ASSERT_TRUE((*rr)->ReadRecord(i, &r, &dz).ok());
    for (uint64_t k = 0; k < r.h.length; k++) img[r.h.offset + k] = r.h.type == DDL_REC_DATA ? r.data[k] : 0;
  }
  EXPECT_TRUE(img == v2);
  // Find: every byte offset maps to the record covering it or the next.
  for (uint64_t off = 0; off < v2.size(); off += 512) {
    size_t i = (*rr)->Find(off);
    if (i < (*rr)->entries().size()) {
      EXPECT_GT((*rr)->entries()[i].offset + (*rr)->entries()[i].length, off);
    }
    if (i > 0) {
      EXPECT_LE((*rr)->entries()[i - 1].offset + (*rr)->entries()[i - 1].length, off);
    }
  }
}

TEST(Golden, InvalidFilesFailWithTheirSpecificError) {
  auto expected = ParseExpected(std::string([] {
    Bytes b = ReadFileBytes(Golden("invalid/EXPECTED"));
    return std::string(b.begin(), b.end());
  }()));
  ASSERT_GE(expected.size(), 20u);
  const Bytes v1 = ReadFileBytes(Golden("valid/v1.img"));
  for (const auto& e : expected) {
    SCOPED_TRACE(e.name);
    const Bytes d = ReadFileBytes(Golden("invalid/" + e.name));
    Status s = VerifyBytes(d, nullptr, e.name);
    EXPECT_EQ(CodeName(s.code()), std::string(CodeName(e.code))) << s.message();
    EXPECT_NE(s.message().find(e.substring), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind(e.name, 0), 0u) << "message must start with the file name: " << s.message();
    // A pipe reader must fail too, whatever the first error it meets.
    EXPECT_FALSE(StreamReadAll(d).ok());
    // And apply must refuse it without touching the image.
    MemEnv aenv;
    aenv.Put("d", d);
    aenv.Put("img", v1);
    ApplyOptions ao;
    ao.env = &aenv;
    ApplyReport rep;
    EXPECT_FALSE(ApplyChain({"d"}, "img", ao, &rep).ok());
    EXPECT_TRUE(aenv.Get("img") == v1);
  }
}

TEST(Golden, WriterStillProducesTheCommittedBytes) {
  for (const auto& g : BuildGoldenSet()) {
    SCOPED_TRACE(g.name);
    EXPECT_TRUE(ReadFileBytes(Golden(g.name)) == g.bytes)
        << "regenerate with make-golden only if the format changed on purpose";
  }
}

}  // namespace
}  // namespace ddl::test
