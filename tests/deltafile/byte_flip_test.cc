// byte_flip_test - flipping any single byte of a deltafile is detected, by
// the verifier and by a pipe reader.
#include <gtest/gtest.h>

#include "deltafile/reader.h"
#include "deltafile/verify.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

Status VerifyMem(const Bytes& d) {
  MemEnv env;
  env.Put("d", d);
  auto f = env.Open("d", OpenMode::kRead);
  VerifyOptions o;
  o.threads = 0;
  VerifyReport r;
  return VerifyDelta(f->get(), o, &r);
}

Status StreamMem(const Bytes& d) {
  MemEnv env;
  env.Put("d", d);
  auto f = env.Open("d", OpenMode::kRead);
  FileStream in(f->get());
  StreamReader sr(&in);
  Status s = sr.ReadHeader();
  Record r;
  for (bool more = true; s.ok() && more;) s = sr.Next(&r, &more);
  return s.ok() ? sr.Finish() : s;
}

TEST(ByteFlip, EveryByteOfASmallDeltaIsDetected) {
  // Small but with every structure: DATA (zstd and raw), ZERO, a short last
  // chunk, an index block and the footer.
  Bytes a(20 * 4096 + 1024, 0);
  Put(&a, 0, TextBytes(8192, 1));
  Put(&a, 3 * 4096, RandomBytes(4096, 2));
  Bytes b = a;
  Put(&b, 100, TextBytes(3000, 3));
  Put(&b, 3 * 4096, Bytes(4096, 0));
  Put(&b, 6 * 4096, RandomBytes(4096, 4));
  Put(&b, 20 * 4096 + 10, TextBytes(500, 5));
  WriterOptions w;
  w.chunk_shift = 12;
  const Bytes d = MakeDelta(&a, b, w);
  ASSERT_TRUE(VerifyMem(d).ok());
  ASSERT_TRUE(StreamMem(d).ok());
  size_t undetected = 0;
  for (size_t i = 0; i < d.size(); i++) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
      Bytes x = d;
      x[i] ^= mask;
      if (VerifyMem(x).ok()) {
        undetected++;
        ADD_FAILURE() << "verify missed a flip of byte " << i << " with mask " << int(mask);
      }
      if (StreamMem(x).ok()) {
        undetected++;
        ADD_FAILURE() << "stream reader missed a flip of byte " << i << " with mask " << int(mask);
      }
    }
  }
  EXPECT_EQ(undetected, 0u) << "of " << d.size() << " bytes";
}

TEST(ByteFlip, EveryTruncationIsDetected) {
  Bytes a = TextBytes(64 * 1024, 1), b = a;
  Put(&b, 5000, RandomBytes(9000, 2));
  WriterOptions w;
  w.chunk_shift = 12;
  const Bytes d = MakeDelta(&a, b, w);
  for (size_t n = 0; n < d.size(); n++) {
    Bytes x(d.begin(), d.begin() + n);
    Status v = VerifyMem(x), s = StreamMem(x);
    EXPECT_FALSE(v.ok()) << n;
    EXPECT_FALSE(s.ok()) << n;
    EXPECT_TRUE(s.code() == Code::kTruncated || s.code() == Code::kCorruption) << n << " " << s.message();
  }
}

}  // namespace
}  // namespace ddl::test
