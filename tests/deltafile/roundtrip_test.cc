// roundtrip_test - write deltas of many shapes, read them back three ways
// (stream, random, apply) and compare with the target.
#include <gtest/gtest.h>

#include "backup/apply.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

Bytes Apply(const Bytes* base, const std::vector<Bytes>& deltas, Status* st = nullptr) {
  MemEnv env;
  std::vector<std::string> names;
  for (size_t i = 0; i < deltas.size(); i++) {
    names.push_back("d" + std::to_string(i));
    env.Put(names.back(), deltas[i]);
  }
  if (base) env.Put("img", *base);
  ApplyOptions o;
  o.env = &env;
  o.checkpoint_bytes = 8192;
  ApplyReport rep;
  Status s = ApplyChain(names, "img", o, &rep);
  if (st)
    *st = s;
  else
    EXPECT_TRUE(s.ok()) << s.message();
  return env.Get("img");
}

void ExpectVerifies(const Bytes& d, const Bytes* base) {
  Status s = VerifyBytes(d, base);
  EXPECT_TRUE(s.ok()) << s.message();
}

struct Shape {
  uint32_t chunk_shift;
  uint32_t frame_max;
  int level;
  int threads;
};

class RoundTrip : public ::testing::TestWithParam<Shape> {};

TEST_P(RoundTrip, OddSizesZerosIncompressibleAndTail) {
  const Shape sh = GetParam();
  // 10 MiB + 3*4096 + 512: not a multiple of any chunk size.
  const size_t size = (10u << 20) + 3 * 4096 + 512;
  Bytes old_img(size, 0);
  Put(&old_img, 0, TextBytes(3 << 20, 1));
  Put(&old_img, 4 << 20, RandomBytes(2 << 20, 2));  // incompressible
  Bytes new_img = old_img;
  Put(&new_img, 100000, TextBytes(70000, 3));               // compressible change
  Put(&new_img, (5 << 20) + 4096, RandomBytes(300000, 4));  // incompressible change
  Put(&new_img, 1 << 20, Bytes(1 << 20, 0));                // a region becomes zero
  Put(&new_img, 7 << 20, RandomBytes(4096, 5));             // zero region gets data
  Put(&new_img, size - 700, TextBytes(600, 6));             // inside the last partial chunk
  WriterOptions w;
  w.chunk_shift = sh.chunk_shift;
  w.frame_max = sh.frame_max;
  w.level = sh.level;
  w.threads = sh.threads;
  const Bytes d = MakeDelta(&old_img, new_img, w);
  ExpectVerifies(d, &old_img);
  EXPECT_TRUE(Apply(&old_img, {d}) == new_img);
  // Seed: onto an empty image.
  const Bytes seed = MakeDelta(nullptr, new_img, w);
  ExpectVerifies(seed, nullptr);
  EXPECT_TRUE(Apply(nullptr, {seed}) == new_img);
  EXPECT_TRUE(Apply(nullptr, {seed, MakeDelta(&new_img, old_img, w)}) == old_img);
}

INSTANTIATE_TEST_SUITE_P(Shapes, RoundTrip,
                         ::testing::Values(Shape{12, 262144, 3, 2}, Shape{16, 262144, 3, 2}, Shape{16, 65536, 1, 0},
                                           Shape{20, 262144, 3, 2}, Shape{18, 4096, 0, 1}, Shape{14, 8192, 5, 3}),
                         [](const ::testing::TestParamInfo<Shape>& i) {
                           const Shape& s = i.param;
                           return "chunk" + std::to_string(1u << (s.chunk_shift - 10)) + "K_frame" +
                                  std::to_string(s.frame_max >> 10) + "K_level" + std::to_string(s.level) + "_threads" +
                                  std::to_string(s.threads);
                         });

TEST(RoundTrip, ChainOfFiveInOneCall) {
  std::vector<Bytes> v{TextBytes(3 << 20, 10)};
  for (int i = 1; i <= 5; i++) {
    Bytes n = v.back();
    Put(&n, (i * 350000) % (3 << 20), RandomBytes(50000, 100 + i));
    Put(&n, (i * 777777) % (2 << 20), TextBytes(10000, 200 + i));
    v.push_back(n);
  }
  std::vector<Bytes> ds;
  for (int i = 0; i < 5; i++) ds.push_back(MakeDelta(&v[i], v[i + 1]));
  EXPECT_TRUE(Apply(&v[0], ds) == v[5]);
  // Out of order: put in chain order (chain_order.h).
  EXPECT_TRUE(Apply(&v[0], {ds[3], ds[0], ds[4], ds[2], ds[1]}) == v[5]);
  // A gap: refused, image untouched.
  Status s;
  EXPECT_TRUE(Apply(&v[0], {ds[0], ds[2], ds[1], ds[4]}, &s) == v[0]);
  EXPECT_EQ(s.code(), Code::kBrokenChain) << s.message();
  // Wrong base: refused, image untouched.
  EXPECT_TRUE(Apply(&v[2], {ds[0]}, &s) == v[2]);
  EXPECT_EQ(s.code(), Code::kWrongBase) << s.message();
  // An image already part way along the chain: the rest is applied.
  EXPECT_TRUE(Apply(&v[3], ds) == v[5]);
}

TEST(RoundTrip, IdenticalImagesGiveAnEmptyDelta) {
  const Bytes img = TextBytes(1 << 20, 7);
  const Bytes d = MakeDelta(&img, img);
  MemEnv env;
  env.Put("d", d);
  auto f = env.Open("d", OpenMode::kRead);
  auto rr = RandomReader::Open(f->get());
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ((*rr)->entries().size(), 0u);
  EXPECT_EQ((*rr)->header().base.fingerprint, (*rr)->header().target.fingerprint);
  EXPECT_TRUE(Apply(&img, {d}) == img);
}

TEST(RoundTrip, WriterIsDeterministicAcrossThreadCounts) {
  Bytes a = TextBytes(4 << 20, 1), b = a;
  Put(&b, 12345, RandomBytes(1 << 20, 9));
  WriterOptions w1, w4;
  w1.threads = 1;
  w4.threads = 4;
  EXPECT_TRUE(MakeDelta(&a, b, w1) == MakeDelta(&a, b, w4));
}

}  // namespace
}  // namespace ddl::test
