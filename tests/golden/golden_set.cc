// golden_set.cc - builds tests/golden: valid deltafiles with the images they
// produce, and invalid ones each damaged in one specific way.
#include "tests/golden/golden_set.h"

#include <cstring>
#include <sstream>
#include <stdexcept>

#include "deltafile/endian.h"
#include "deltafile/format.h"

namespace ddl::test {

namespace {

constexpr uint64_t kChunk = 4096;

// v1: 46592 bytes (11 chunks of 4 KiB and a short 1536-byte last one) of
// text, random and zero chunks.
Bytes V1() {
  Bytes v(46592, 0);
  Put(&v, 0, TextBytes(2 * kChunk, 1));
  Put(&v, 2 * kChunk, RandomBytes(kChunk, 2));
  Put(&v, 5 * kChunk, TextBytes(2 * kChunk, 3));
  Put(&v, 7 * kChunk, RandomBytes(kChunk, 4));
  Put(&v, 10 * kChunk, TextBytes(kChunk + 1536, 5));
  return v;
}

// v2: v1 with a text chunk rewritten, a random chunk zeroed, a zero chunk
// filled with random data, a random chunk changed and the short last chunk
// changed.
Bytes V2() {
  Bytes v = V1();
  Put(&v, 1 * kChunk, TextBytes(kChunk, 11));
  Put(&v, 2 * kChunk, Bytes(kChunk, 0));
  Put(&v, 3 * kChunk, RandomBytes(kChunk, 12));
  Put(&v, 7 * kChunk + 100, RandomBytes(200, 13));
  Put(&v, 11 * kChunk + 1000, TextBytes(300, 14));
  return v;
}

// v3: 16 KiB chunks written in 4 KiB frames, so chunks span records.
Bytes V3() {
  Bytes v(40 * 1024 + 512, 0);
  Put(&v, 0, TextBytes(20000, 21));
  Put(&v, 20480, RandomBytes(10000, 22));
  Put(&v, 32768, TextBytes(8192 + 512, 23));
  return v;
}

WriterOptions Opts(uint32_t shift, int level, uint32_t frame = DDL_FRAME_MAX_LIMIT) {
  WriterOptions w;
  w.chunk_shift = shift;
  w.level = level;
  w.frame_max = frame;
  w.threads = 0;
  return w;
}

struct Layout {
  Header h;
  Footer f;
  std::vector<IndexEntry> index;
};

Layout Parse(const Bytes& b) {
  Layout l;
  if (!DecodeHeader(b.data(), &l.h).ok()) throw std::runtime_error("golden: bad header");
  if (!DecodeFooter(b.data() + b.size() - DDL_FOOTER_SIZE, &l.f).ok()) throw std::runtime_error("golden: bad footer");
  for (uint64_t k = 0; k < l.f.index_blocks; k++) {
    uint64_t at = l.f.index_offset + k * DDL_INDEX_BLOCK_SIZE;
    if (!DecodeIndexBlock(b.data() + at, k, at, &l.index).ok()) throw std::runtime_error("golden: bad index");
  }
  return l;
}

void FixFooterCsum(Bytes* b) {
  uint8_t* f = b->data() + b->size() - DDL_FOOTER_SIZE;
  StoreLE64(f + offsetof(ddl_footer, footer_csum), Xxh64(f, offsetof(ddl_footer, footer_csum)));
}

void FixFileCsum(Bytes* b) {
  const size_t end = b->size() - DDL_FOOTER_SIZE + offsetof(ddl_footer, file_csum);
  uint8_t* f = b->data() + b->size() - DDL_FOOTER_SIZE;
  StoreLE64(f + offsetof(ddl_footer, file_csum), Xxh64(b->data() + DDL_HEADER_SIZE, end - DDL_HEADER_SIZE));
  FixFooterCsum(b);
}

void FixHeaderCsum(Bytes* b) {
  uint64_t c = Xxh64(b->data(), offsetof(ddl_header, header_csum));
  StoreLE64(b->data() + offsetof(ddl_header, header_csum), c);
  uint8_t* f = b->data() + b->size() - DDL_FOOTER_SIZE;
  StoreLE64(f + offsetof(ddl_footer, header_csum), c);
  FixFileCsum(b);
}

// Rewrites a raw DATA record's first payload byte and makes its own
// checksums agree, so only file-level checks can notice.
void ForgeRawRecord(Bytes* b, const IndexEntry& e) {
  uint8_t* rec = b->data() + e.file_offset;
  uint32_t nhash = LoadLE32(rec + offsetof(ddl_record, nhash));
  uint8_t* payload = rec + DDL_RECORD_SIZE + DDL_HASH_SIZE * nhash;
  payload[0] ^= 0x5a;
  StoreLE64(rec + offsetof(ddl_record, data_csum), Xxh64(payload, e.length));
  Xxh64Stream x;
  x.Update(rec, offsetof(ddl_record, header_csum));
  x.Update(rec + DDL_RECORD_SIZE, DDL_HASH_SIZE * nhash);
  StoreLE64(rec + offsetof(ddl_record, header_csum), x.Digest());
}

const IndexEntry& FirstRecord(const Layout& l, uint16_t type, uint16_t codec) {
  for (const IndexEntry& e : l.index)
    if (e.type == type && e.codec == codec) return e;
  throw std::runtime_error("golden: no such record");
}

}  // namespace

std::vector<GoldenFile> BuildGoldenSet() {
  std::vector<GoldenFile> out;
  const Bytes v1 = V1(), v2 = V2(), v3 = V3();
  const Bytes seed = MakeDelta(nullptr, v1, Opts(12, 3));
  const Bytes incr = MakeDelta(&v1, v2, Opts(12, 3));
  out.push_back({"valid/v1.img", v1});
  out.push_back({"valid/v2.img", v2});
  out.push_back({"valid/v3.img", v3});
  out.push_back({"valid/seed-v1.delta", seed});
  out.push_back({"valid/v1-v2.delta", incr});
  out.push_back({"valid/v1-v2-raw.delta", MakeDelta(&v1, v2, Opts(12, 0))});
  out.push_back({"valid/seed-v3-split.delta", MakeDelta(nullptr, v3, Opts(14, 3, 4096))});
  {
    Bytes b = incr;  // an unknown compatible feature must be ignored
    StoreLE64(b.data() + offsetof(ddl_header, compat_features), 1ull << 3);
    FixHeaderCsum(&b);
    out.push_back({"valid/v1-v2-compat-bit.delta", b});
  }

  const Layout l = Parse(incr);
  const size_t size = incr.size();
  std::ostringstream expected;
  auto add = [&](const std::string& name, Bytes b, const char* code, const std::string& sub) {
    out.push_back({"invalid/" + name, std::move(b)});
    expected << name << "\t" << code << "\t" << sub << "\n";
  };
  auto flip = [&](size_t at) {
    Bytes b = incr;
    b[at] ^= 0x01;
    return b;
  };
  auto cut = [&](size_t n) { return Bytes(incr.begin(), incr.begin() + n); };

  add("bad-magic.delta", flip(0), "corrupt", "bad magic");
  {
    Bytes b = incr;
    StoreLE32(b.data() + offsetof(ddl_header, version), 2);
    FixHeaderCsum(&b);
    add("version-2.delta", b, "unsupported", "format version 2");
  }
  {
    Bytes b = incr;
    StoreLE64(b.data() + offsetof(ddl_header, incompat_features), DDL_INCOMPAT_ZSTD | (1ull << 9));
    FixHeaderCsum(&b);
    add("unknown-incompat-bit.delta", b, "unsupported", "unknown incompatible feature bits 0x200");
  }
  add("header-flip.delta", flip(300), "corrupt", "header checksum mismatch");
  add("record-header-flip.delta", flip(DDL_HEADER_SIZE + offsetof(ddl_record, offset)), "corrupt",
      "record 0 at byte 512: header checksum mismatch");
  add("record-hash-flip.delta", flip(DDL_HEADER_SIZE + DDL_RECORD_SIZE + 3), "corrupt",
      "record 0 at byte 512: header checksum mismatch");
  {
    const IndexEntry& e = FirstRecord(l, DDL_REC_DATA, DDL_CODEC_NONE);
    const uint32_t nhash = LoadLE32(incr.data() + e.file_offset + offsetof(ddl_record, nhash));
    add("record-raw-data-flip.delta", flip(e.file_offset + DDL_RECORD_SIZE + DDL_HASH_SIZE * nhash + 10), "corrupt",
        "data checksum mismatch");
  }
  {
    const IndexEntry& e = FirstRecord(l, DDL_REC_DATA, DDL_CODEC_ZSTD);
    const uint32_t nhash = LoadLE32(incr.data() + e.file_offset + offsetof(ddl_record, nhash));
    add("record-zstd-data-flip.delta", flip(e.file_offset + DDL_RECORD_SIZE + DDL_HASH_SIZE * nhash + 20), "corrupt",
        "at byte " + std::to_string(e.file_offset));
  }
  add("end-record-flip.delta", flip(l.f.end_offset + offsetof(ddl_record, seq)), "corrupt",
      "END record checksum mismatch");
  add("index-flip.delta", flip(l.f.index_offset + 40), "corrupt", "index block 0: checksum mismatch");
  {
    Bytes b = incr;
    uint8_t* blk = b.data() + l.f.index_offset;
    StoreLE64(blk + offsetof(ddl_index_block, entries) + offsetof(ddl_index_entry, file_offset), size + 4096);
    StoreLE64(blk + offsetof(ddl_index_block, csum), Xxh64(blk, offsetof(ddl_index_block, csum)));
    add("index-points-outside.delta", b, "corrupt", "index entry 0 points outside the records");
  }
  add("footer-flip.delta", flip(size - DDL_FOOTER_SIZE + 90), "corrupt", "footer checksum mismatch");
  add("truncated-in-header.delta", cut(100), "truncated", "shorter than a header");
  add("truncated-in-record.delta", cut(900), "truncated", "no footer");
  add("truncated-in-end-record.delta", cut(l.f.end_offset + 10), "truncated", "no footer");
  add("truncated-in-index.delta", cut(l.f.index_offset + 100), "truncated", "no footer");
  add("truncated-in-footer.delta", cut(size - 50), "truncated", "no footer");
  add("truncated-last-byte.delta", cut(size - 1), "truncated", "no footer");
  {
    Bytes b = incr;
    b.push_back(0);
    add("trailing-byte.delta", b, "truncated", "no footer");
  }
  {
    Bytes b = incr;
    ForgeRawRecord(&b, FirstRecord(l, DDL_REC_DATA, DDL_CODEC_NONE));
    add("file-checksum.delta", b, "corrupt", "whole-file checksum mismatch");
    FixFileCsum(&b);
    add("fingerprint-mismatch.delta", b, "corrupt", "do not turn the base fingerprint into the target");
  }
  {
    Bytes b = incr;  // footer totals that do not add up, all checksums fixed
    uint8_t* f = b.data() + b.size() - DDL_FOOTER_SIZE;
    StoreLE64(f + offsetof(ddl_footer, data_bytes), l.f.data_bytes + 4096);
    FixFileCsum(&b);
    add("footer-totals.delta", b, "corrupt", "the footer's totals");
  }
  {
    Bytes b = seed;  // a seed whose record claims a non-zero base chunk
    uint8_t* rec = b.data() + DDL_HEADER_SIZE;
    uint32_t nhash = LoadLE32(rec + offsetof(ddl_record, nhash));
    rec[DDL_RECORD_SIZE] = 0x42;
    Xxh64Stream x;
    x.Update(rec, offsetof(ddl_record, header_csum));
    x.Update(rec + DDL_RECORD_SIZE, DDL_HASH_SIZE * nhash);
    StoreLE64(rec + offsetof(ddl_record, header_csum), x.Digest());
    FixFileCsum(&b);
    add("seed-with-base-hash.delta", b, "corrupt", "not the zero marker");
  }
  const std::string text = expected.str();
  out.push_back({"invalid/EXPECTED", Bytes(text.begin(), text.end())});
  return out;
}

std::vector<InvalidExpectation> ParseExpected(const std::string& text) {
  std::vector<InvalidExpectation> v;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    size_t a = line.find('\t'), b = line.find('\t', a + 1);
    InvalidExpectation e;
    e.name = line.substr(0, a);
    std::string code = line.substr(a + 1, b - a - 1);
    e.substring = line.substr(b + 1);
    e.code = code == "corrupt" ? Code::kCorruption : code == "truncated" ? Code::kTruncated : Code::kUnsupported;
    v.push_back(e);
  }
  return v;
}

}  // namespace ddl::test
