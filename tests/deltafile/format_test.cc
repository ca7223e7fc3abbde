// format_test - header and record encodings, ordering rules, hashes and the
// fingerprint's arithmetic.
#include <gtest/gtest.h>

#include "deltafile/format.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

Header SomeHeader() {
  Header h;
  h.volume_uuid = Uuid::Random();
  h.volume_size = (1 << 20) + 512;
  h.chunk_shift = 16;
  h.incompat = DDL_INCOMPAT_ZSTD;
  h.base.snapshot = Uuid::Random();
  h.target.snapshot = Uuid::Random();
  h.target.fingerprint.lane[1] = 77;
  return h;
}

TEST(Header, RoundTrip) {
  Header h = SomeHeader();
  uint8_t b[DDL_HEADER_SIZE];
  EncodeHeader(&h, b);
  Header d;
  ASSERT_TRUE(DecodeHeader(b, &d).ok());
  EXPECT_TRUE(d.volume_uuid == h.volume_uuid);
  EXPECT_EQ(d.volume_size, h.volume_size);
  EXPECT_TRUE(d.base == h.base);
  EXPECT_TRUE(d.target == h.target);
  EXPECT_EQ(d.header_csum, h.header_csum);
}

TEST(Header, RejectsBadFields) {
  auto check = [](void (*mutate)(Header*), Code code, const char* sub) {
    Header h = SomeHeader();
    mutate(&h);
    uint8_t b[DDL_HEADER_SIZE];
    EncodeHeader(&h, b);
    Header d;
    Status s = DecodeHeader(b, &d);
    EXPECT_EQ(s.code(), code) << s.message();
    EXPECT_NE(s.message().find(sub), std::string::npos) << s.message();
  };
  check([](Header* h) { h->volume_size = 1000; }, Code::kCorruption, "multiple of 512");
  check([](Header* h) { h->chunk_shift = 11; }, Code::kCorruption, "chunk size");
  check([](Header* h) { h->chunk_shift = 21; }, Code::kCorruption, "chunk size");
  check([](Header* h) { h->frame_max = 512 * 1024; }, Code::kCorruption, "frame size");
  check([](Header* h) { h->incompat = 0; }, Code::kCorruption, "zstd feature");
  check([](Header* h) { h->incompat |= 1ull << 40; }, Code::kUnsupported, "incompatible");
  check([](Header* h) { h->flags = 2; }, Code::kUnsupported, "flags");
  check([](Header* h) { h->flags = DDL_HF_SEED; }, Code::kCorruption, "seed delta with a base");
  check([](Header* h) { h->target.snapshot = Uuid(); }, Code::kCorruption, "target snapshot UUID is nil");
  // Unknown compatible bits are fine.
  Header h = SomeHeader();
  h.compat = 1ull << 33;
  uint8_t b[DDL_HEADER_SIZE];
  EncodeHeader(&h, b);
  Header d;
  EXPECT_TRUE(DecodeHeader(b, &d).ok());
}

RecordHeader Rec(uint16_t type, uint64_t off, uint64_t len, uint32_t nhash, uint64_t seq) {
  RecordHeader r;
  r.type = type;
  r.offset = off;
  r.length = len;
  r.nhash = nhash;
  r.seq = seq;
  return r;
}

TEST(RecordOrder, AcceptsValidAndRejectsInvalidSequences) {
  Header h = SomeHeader();  // 1 MiB + 512, 64 KiB chunks: 17 chunks
  h.frame_max = 65536;
  {
    RecordOrderChecker c(h);
    EXPECT_TRUE(c.Check(Rec(DDL_REC_DATA, 0, 65536, 1, 0)).ok());
    EXPECT_TRUE(c.Check(Rec(DDL_REC_ZERO, 65536 * 2, 65536 * 3, 3, 1)).ok());
    EXPECT_TRUE(c.Check(Rec(DDL_REC_DATA, 1 << 20, 512, 1, 2)).ok());  // short last chunk
    RecordHeader end = Rec(DDL_REC_END, h.volume_size, 0, 0, 3);
    EXPECT_TRUE(c.CheckEnd(end).ok());
  }
  {
    RecordOrderChecker c(h);
    EXPECT_FALSE(c.Check(Rec(DDL_REC_DATA, 4096, 4096, 0, 0)).ok()) << "not at a chunk boundary";
  }
  {
    RecordOrderChecker c(h);
    ASSERT_TRUE(c.Check(Rec(DDL_REC_DATA, 65536, 65536, 1, 0)).ok());
    EXPECT_FALSE(c.Check(Rec(DDL_REC_DATA, 0, 65536, 1, 1)).ok()) << "out of order";
  }
  {
    RecordOrderChecker c(h);
    EXPECT_FALSE(c.Check(Rec(DDL_REC_DATA, 0, 65536, 2, 0)).ok()) << "wrong hash count";
  }
  {
    RecordOrderChecker c(h);
    EXPECT_FALSE(c.Check(Rec(DDL_REC_DATA, 1 << 20, 1024, 1, 0)).ok()) << "past the end";
  }
  {
    // A chunk split across records must be continued, not abandoned.
    Header h2 = SomeHeader();
    h2.frame_max = 16384;
    RecordOrderChecker c(h2);
    ASSERT_TRUE(c.Check(Rec(DDL_REC_DATA, 0, 16384, 1, 0)).ok());
    EXPECT_FALSE(c.CheckEnd(Rec(DDL_REC_END, h2.volume_size, 0, 0, 1)).ok());
    RecordOrderChecker c2(h2);
    ASSERT_TRUE(c2.Check(Rec(DDL_REC_DATA, 0, 16384, 1, 0)).ok());
    EXPECT_FALSE(c2.Check(Rec(DDL_REC_DATA, 65536, 16384, 1, 1)).ok());
  }
}

TEST(Fingerprint, IsAnAdditiveSetHash) {
  const Bytes a = TextBytes(4096, 1), b = RandomBytes(4096, 2);
  ChunkHash ha = HashChunk(a.data(), a.size()), hb = HashChunk(b.data(), b.size());
  Fingerprint x, y;
  x.Add(0, ha);
  x.Add(1, hb);
  y.Add(1, hb);
  y.Add(0, ha);
  EXPECT_TRUE(x == y);  // order-free
  x.Sub(1, hb);
  x.Add(1, ha);  // replace chunk 1's element
  Fingerprint z;
  z.Add(0, ha);
  z.Add(1, ha);
  EXPECT_TRUE(x == z);
  Fingerprint w;
  w.Add(1, ha);
  w.Add(0, ha);
  EXPECT_TRUE(w == z);
  Fingerprint swapped;
  swapped.Add(0, hb);
  swapped.Add(1, ha);
  Fingerprint orig;
  orig.Add(0, ha);
  orig.Add(1, hb);
  EXPECT_FALSE(swapped == orig);  // positions matter
  EXPECT_TRUE(HashChunk(Bytes(4096, 0).data(), 4096).IsZeroMarker());
  Fingerprint zero;
  zero.Add(5, HashChunk(Bytes(512, 0).data(), 512));
  EXPECT_TRUE(zero.IsZero());  // zero chunks contribute nothing
  uint8_t enc[32];
  orig.Encode(enc);
  EXPECT_TRUE(Fingerprint::Decode(enc) == orig);
}

TEST(Uuid, ParseFormatAndDerive) {
  Uuid u = Uuid::Random();
  Uuid p;
  ASSERT_TRUE(Uuid::Parse(u.ToString(), &p));
  EXPECT_TRUE(p == u);
  EXPECT_FALSE(Uuid::Parse("not-a-uuid", &p));
  Fingerprint f;
  f.lane[0] = 1;
  EXPECT_TRUE(Uuid::ForContent(Uuid(), f) == Uuid::ForContent(Uuid(), f));
  f.lane[0] = 2;
  EXPECT_FALSE(Uuid::ForContent(Uuid(), f) == Uuid::ForContent(u, f));
  EXPECT_EQ(Uuid::ForContent(u, f).b[6] >> 4, 8);
}

TEST(IsAllZero, Edges) {
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 4096u}) {
    Bytes z(n, 0);
    EXPECT_TRUE(IsAllZero(z.data(), n));
    if (n) {
      z[n - 1] = 1;
      EXPECT_FALSE(IsAllZero(z.data(), n));
      z[n - 1] = 0;
      z[0] = 1;
      EXPECT_FALSE(IsAllZero(z.data(), n));
    }
  }
}

}  // namespace
}  // namespace ddl::test
