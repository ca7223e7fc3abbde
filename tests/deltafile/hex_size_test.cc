// hex_size_test - the one hex formatter (deltafile/hex.h) and the one size
// parser (deltafile/size_value.h): exact formats, strict parsers that
// never throw and never wrap.
#include <string>

#include <gtest/gtest.h>

#include "deltafile/hex.h"
#include "deltafile/size_value.h"

namespace ddl {
namespace {

TEST(Hex, FormatsAreFixed) {
  EXPECT_EQ(Hex64(0), "0000000000000000");
  EXPECT_EQ(Hex64(0xdeadbeefull), "00000000deadbeef");
  EXPECT_EQ(Hex64(UINT64_MAX), "ffffffffffffffff");
  EXPECT_EQ(Hex0x(0), "0x0");
  EXPECT_EQ(Hex0x(0x2a), "0x2a");
  EXPECT_EQ(Hex0x(UINT64_MAX), "0xffffffffffffffff");
  const uint8_t b[] = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(HexBytes(b, sizeof b), "000fa0ff");
  EXPECT_EQ(HexBytes(b, 0), "");
}

TEST(Hex, ParsersAreStrict) {
  uint64_t v = 7;
  EXPECT_TRUE(ParseHex64("00000000deadbeef", &v));
  EXPECT_EQ(v, 0xdeadbeefull);
  for (const char* bad : {"", "00000000DEADBEEF", "deadbeef", "0000000000000000f", "-000000000000001",
                          " 000000000000001", "0x00000000000001", "000000000000000g"}) {
    v = 7;
    EXPECT_FALSE(ParseHex64(bad, &v)) << bad;
    EXPECT_EQ(v, 7u) << bad;
  }
  uint8_t out[2] = {1, 2};
  EXPECT_TRUE(ParseHexBytes("a0Ff", out, 2));
  EXPECT_EQ(out[0], 0xa0);
  EXPECT_EQ(out[1], 0xff);
  EXPECT_FALSE(ParseHexBytes("a0f", out, 2));
  EXPECT_FALSE(ParseHexBytes("a0fff", out, 2));
  EXPECT_FALSE(ParseHexBytes("a0 f", out, 2));
  EXPECT_EQ(out[0], 0xa0) << "not written on failure";
}

TEST(SizeValue, AcceptsDigitsAndOneSuffix) {
  struct Case {
    const char* text;
    uint64_t want;
  } ok[] = {{"0", 0},
            {"65536", 65536},
            {"64K", 65536},
            {"64k", 65536},
            {"64KiB", 65536},
            {"1M", 1 << 20},
            {"1MiB", 1 << 20},
            {"2G", 2ull << 30},
            {"1T", 1ull << 40},
            {"512B", 512},
            {"16777215T", 16777215ull << 40},
            {"18446744073709551615", UINT64_MAX}};
  for (const Case& c : ok) {
    uint64_t v = 0;
    EXPECT_EQ(ParseSizeValue(c.text, &v), SizeParse::kOk) << c.text;
    EXPECT_EQ(v, c.want) << c.text;
  }
}

TEST(SizeValue, TooLargeAndJunkAreErrorsNeverThrowsOrWraps) {
  for (const char* big : {"18446744073709551616", "99999999999999999999", "999999999999999999999999999999", "16777216T",
                          "17179869184G"}) {
    uint64_t v = 7;
    EXPECT_EQ(ParseSizeValue(big, &v), SizeParse::kTooLarge) << big;
    EXPECT_EQ(v, 7u) << big;
  }
  for (const char* junk :
       {"", "-1", "+1", " 1", "1 ", "4Kx", "1.5G", "K", "1e3", "0x10", "1KB", "1P", "G1", "12Q", "1kib"}) {
    uint64_t v = 7;
    EXPECT_EQ(ParseSizeValue(junk, &v), SizeParse::kJunk) << junk;
    EXPECT_EQ(v, 7u) << junk;
    EXPECT_FALSE(ParseSize(junk, &v)) << junk;
  }
}

TEST(SizeValue, SizeOptionNamesTheOptionInOneLine) {
  uint64_t v = 0;
  EXPECT_TRUE(SizeOption("--size", "1G", &v).ok());
  EXPECT_EQ(v, 1ull << 30);
  Status s = SizeOption("--block-size", "99999999999999999999", &v);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "--block-size 99999999999999999999: too large (the most is 16 EiB)");
  s = SizeOption("--size", "12Q", &v);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "--size 12Q: not a size (e.g. 65536, 64K, 1G)");
}

}  // namespace
}  // namespace ddl
