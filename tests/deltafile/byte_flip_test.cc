// byte_flip_test - flipping any single byte of a deltafile is detected, by
// the verifier and by a pipe reader.
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace ddl::test {
namespace {

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
  ASSERT_TRUE(VerifyBytes(d).ok());
  ASSERT_TRUE(StreamReadAll(d).ok());
  size_t undetected = 0;
  for (size_t i = 0; i < d.size(); i++) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xff)}) {
      Bytes x = d;
      x[i] ^= mask;
      if (VerifyBytes(x).ok()) {
        undetected++;
        ADD_FAILURE() << "verify missed a flip of byte " << i << " with mask " << int(mask);
      }
      if (StreamReadAll(x).ok()) {
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
    Status v = VerifyBytes(x), s = StreamReadAll(x);
    EXPECT_FALSE(v.ok()) << n;
    EXPECT_FALSE(s.ok()) << n;
    EXPECT_TRUE(s.code() == Code::kTruncated || s.code() == Code::kCorruption) << n << " " << s.message();
  }
}

}  // namespace
}  // namespace ddl::test
