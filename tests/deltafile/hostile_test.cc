// hostile_test - deltafiles whose footer or index make claims the file
// cannot back (issue 12, item 9): a footer claiming billions of records, an
// index entry claiming a 3.9 GiB record. The files are sparse (a File that
// reads zeros between the few real pieces), so a reader that sizes an
// allocation by a claim fails here with std::bad_alloc or a huge read, and
// one that bounds the claim first fails cleanly with kCorruption.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "deltafile/chain.h"
#include "deltafile/endian.h"
#include "deltafile/ordered_pool.h"
#include "deltafile/verify.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

// A read-only file of `size` bytes: zeros except for the pieces put in it.
// Remembers the largest single read asked of it.
class SparseFile : public File {
 public:
  SparseFile(std::string name, uint64_t size) : File(std::move(name)), size_(size) {}
  void Put(uint64_t off, const uint8_t* p, size_t n) { pieces_[off] = Bytes(p, p + n); }
  size_t max_read() const { return max_read_; }

  Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) override {
    max_read_ = std::max(max_read_, n);
    *got = 0;
    if (off >= size_) return Status::Ok();
    n = static_cast<size_t>(std::min<uint64_t>(n, size_ - off));
    uint8_t* out = static_cast<uint8_t*>(buf);
    std::memset(out, 0, n);
    for (const auto& [at, b] : pieces_) {
      const uint64_t lo = std::max(at, off), hi = std::min(at + b.size(), off + n);
      if (lo < hi) std::memcpy(out + (lo - off), b.data() + (lo - at), hi - lo);
    }
    *got = n;
    return Status::Ok();
  }
  Status WriteAt(uint64_t, const void*, size_t) override { return IOError(name() + ": read-only"); }
  Status Sync() override { return Status::Ok(); }
  Result<uint64_t> Size() override { return size_; }
  Status Truncate(uint64_t) override { return IOError(name() + ": read-only"); }

 private:
  uint64_t size_;
  std::map<uint64_t, Bytes> pieces_;
  size_t max_read_ = 0;
};

// A real deltafile taken apart: header, records, index.
struct Parts {
  Header h;
  Footer f;
  Bytes file;
  std::vector<IndexEntry> index;
  RecordHeader end;
};

Parts Parse(const Bytes& d) {
  Parts p;
  p.file = d;
  EXPECT_TRUE(DecodeHeader(d.data(), &p.h).ok());
  EXPECT_TRUE(DecodeFooter(d.data() + d.size() - DDL_FOOTER_SIZE, &p.f).ok());
  for (uint64_t b = 0; b < p.f.index_blocks; b++) {
    const uint64_t at = p.f.index_offset + b * DDL_INDEX_BLOCK_SIZE;
    EXPECT_TRUE(DecodeIndexBlock(d.data() + at, b, at, &p.index).ok());
  }
  EXPECT_TRUE(DecodeRecordHeader(d.data() + p.f.end_offset, &p.end).ok());
  return p;
}

// What to lie about when the file is put back together.
struct Lies {
  uint64_t volume_size = 0;   // 0: keep
  uint64_t record_count = 0;  // 0: keep (then the index is written too)
  size_t record = 0;          // the entry whose record_size is a lie
  uint32_t record_size = 0;   // 0: keep
};

// Lays the parts out again with the lies, every checksum right (except the
// whole-file one, which RandomReader::Open does not read): the records at
// their offsets as the (edited) index says, END, index, footer.
std::unique_ptr<SparseFile> Rebuild(const Parts& p, const Lies& lie) {
  Header h = p.h;
  if (lie.volume_size) h.volume_size = lie.volume_size;
  uint8_t hdr[DDL_HEADER_SIZE];
  EncodeHeader(&h, hdr);

  std::vector<IndexEntry> index = p.index;
  if (lie.record_size) index[lie.record].record_size = lie.record_size;
  uint64_t pos = DDL_HEADER_SIZE;
  std::vector<std::pair<uint64_t, size_t>> records;  // new offset, index in p
  for (size_t i = 0; i < index.size(); i++) {
    records.emplace_back(pos, i);
    index[i].file_offset = pos;
    pos += index[i].record_size;
  }
  Footer f = p.f;
  f.record_count = lie.record_count ? lie.record_count : index.size();
  f.index_blocks = IndexBlocksFor(f.record_count);
  f.end_offset = pos;
  f.index_offset = pos + DDL_RECORD_SIZE;
  f.header_csum = h.header_csum;
  const uint64_t size = f.index_offset + f.index_blocks * DDL_INDEX_BLOCK_SIZE + DDL_FOOTER_SIZE;

  auto out = std::make_unique<SparseFile>("hostile.delta", size);
  out->Put(0, hdr, sizeof hdr);
  for (auto [at, i] : records) {
    const IndexEntry& e = p.index[i];
    out->Put(at, p.file.data() + e.file_offset, std::min<size_t>(e.record_size, index[i].record_size));
  }
  RecordHeader end = p.end;
  end.seq = f.record_count;
  end.offset = h.volume_size;
  uint8_t endb[DDL_RECORD_SIZE];
  EncodeRecordHeader(end, nullptr, endb);
  out->Put(f.end_offset, endb, sizeof endb);
  if (!lie.record_count) {  // a real index; a lying count gets a sparse one
    for (uint64_t b = 0; b < f.index_blocks; b++) {
      uint8_t blk[DDL_INDEX_BLOCK_SIZE];
      const size_t first = b * DDL_INDEX_PER_BLOCK;
      const size_t n = std::min<size_t>(DDL_INDEX_PER_BLOCK, index.size() - first);
      const uint64_t at = f.index_offset + b * DDL_INDEX_BLOCK_SIZE;
      EncodeIndexBlock(b, at, index.data() + first, n, blk);
      out->Put(at, blk, sizeof blk);
    }
  }
  uint8_t foot[DDL_FOOTER_SIZE];
  EncodeFooter(f, foot);
  out->Put(size - DDL_FOOTER_SIZE, foot, sizeof foot);
  return out;
}

// A small delta of a few DATA (zstd and raw) and ZERO records.
Parts SmallDelta() {
  Bytes a(4 << 20, 0);
  Put(&a, 0, TextBytes(1 << 20, 1));
  Bytes b = a;
  Put(&b, 100 * 4096, RandomBytes(300000, 2));  // incompressible: raw records
  Put(&b, 2 << 20, TextBytes(70000, 3));
  Put(&b, 0, Bytes(200000, 0));
  return Parse(MakeDelta(&a, b));
}

size_t FirstData(const Parts& p, uint16_t codec) {
  size_t i = 0;
  while (i < p.index.size() && !(p.index[i].type == DDL_REC_DATA && p.index[i].codec == codec)) i++;
  EXPECT_LT(i, p.index.size()) << "no DATA record with codec " << codec;
  return std::min(i, p.index.size() - 1);
}

TEST(Hostile, RebuiltWithoutLiesIsStillValid) {  // the tool itself is right
  Parts p = SmallDelta();
  ASSERT_GE(p.index.size(), 3u);
  auto f = Rebuild(p, Lies());
  auto rr = RandomReader::Open(f.get());
  ASSERT_TRUE(rr.ok()) << rr.status().message();
  Decompressor dz;
  for (size_t i = 0; i < (*rr)->entries().size(); i++) {
    Record r;
    EXPECT_TRUE((*rr)->ReadRecord(i, &r, &dz).ok()) << i;
  }
}

// 127 * 2^28 records: an index of 2^28 blocks (1 TiB, sparse) that would
// need 1 TiB of entries in memory. Before the fix: std::bad_alloc.
TEST(Hostile, FooterClaimingBillionsOfRecords) {
  Parts p = SmallDelta();
  Lies lie;
  lie.record_count = uint64_t(DDL_INDEX_PER_BLOCK) << 28;
  auto f = Rebuild(p, lie);
  auto rr = RandomReader::Open(f.get());
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(rr.status().code(), Code::kCorruption);
  EXPECT_NE(rr.status().message().find("hostile.delta: footer: 34091302912 records cannot fit in"), std::string::npos)
      << rr.status().message();
  VerifyOptions o;
  o.threads = 1;
  VerifyReport rep;
  Status s = VerifyDelta(f.get(), o, &rep);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.message();
}

// A count the file and volume could hold (2^31 records in 128 GiB of
// records of a 1 TiB volume), but with nothing written: no 64 GiB reserve
// before the first index block is found to be zeros.
TEST(Hostile, FooterCountWithinBoundsButSparseIndex) {
  Parts p = SmallDelta();
  Header h = p.h;
  h.volume_size = uint64_t(1) << 40;
  uint8_t hdr[DDL_HEADER_SIZE];
  EncodeHeader(&h, hdr);
  Footer ft = p.f;
  ft.record_count = uint64_t(1) << 31;
  ft.index_blocks = IndexBlocksFor(ft.record_count);
  ft.end_offset = DDL_HEADER_SIZE + ft.record_count * DDL_RECORD_SIZE;
  ft.index_offset = ft.end_offset + DDL_RECORD_SIZE;
  ft.header_csum = h.header_csum;
  const uint64_t size = ft.index_offset + ft.index_blocks * DDL_INDEX_BLOCK_SIZE + DDL_FOOTER_SIZE;
  SparseFile big("big.delta", size);
  big.Put(0, hdr, sizeof hdr);
  RecordHeader end = p.end;
  end.seq = ft.record_count;
  end.offset = h.volume_size;
  uint8_t endb[DDL_RECORD_SIZE];
  EncodeRecordHeader(end, nullptr, endb);
  big.Put(ft.end_offset, endb, sizeof endb);
  uint8_t foot[DDL_FOOTER_SIZE];
  EncodeFooter(ft, foot);
  big.Put(size - DDL_FOOTER_SIZE, foot, sizeof foot);
  auto rr = RandomReader::Open(&big);
  ASSERT_FALSE(rr.ok());
  EXPECT_EQ(rr.status().message(), "big.delta: index block 0: bad magic");
}

// Index entry 0 claims a 3.9 GiB record (the file, sparse, is that large).
// Before the fix Open accepted it and one 4 KiB read through the chain
// allocated and read 3.9 GiB.
TEST(Hostile, IndexEntryClaimingA4GiBRecord) {
  Parts p = SmallDelta();
  Lies lie;
  lie.record = FirstData(p, DDL_CODEC_ZSTD);
  lie.record_size = 0xF9999999u;
  auto f = Rebuild(p, lie);
  auto rr = RandomReader::Open(f.get());
  ASSERT_FALSE(rr.ok()) << "Open accepted a " << lie.record_size << "-byte record";
  EXPECT_EQ(rr.status().code(), Code::kCorruption);
  EXPECT_NE(rr.status().message().find("hostile.delta: index entry " + std::to_string(lie.record) +
                                       " claims a record of 4187593113 bytes"),
            std::string::npos)
      << rr.status().message();
  Bytes base(4 << 20, 0);
  Put(&base, 0, TextBytes(1 << 20, 1));
  MemEnv env;
  env.Put("base", base);
  auto bf = env.Open("base", OpenMode::kRead);
  auto c = ChainReader::Open(bf->get(), {f.get()}, ChainOptions());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kCorruption);
  EXPECT_LE(f->max_read(), size_t(1) << 20) << "a read sized by the lie";
}

// One byte more than any zstd frame of the record's length may take.
TEST(Hostile, IndexEntryOneByteTooLarge) {
  Parts p = SmallDelta();
  for (uint16_t codec : {DDL_CODEC_ZSTD, DDL_CODEC_NONE}) {
    Lies lie;
    lie.record = FirstData(p, codec);
    const IndexEntry& e = p.index[lie.record];
    const uint64_t exact = DDL_RECORD_SIZE + DDL_HASH_SIZE * ChunksStarting(e.offset, e.length, p.h.chunk_shift);
    lie.record_size = static_cast<uint32_t>(exact + e.length + (codec == DDL_CODEC_ZSTD ? 4096 : 0) + 1);
    auto f = Rebuild(p, lie);
    auto rr = RandomReader::Open(f.get());
    ASSERT_FALSE(rr.ok()) << "codec " << codec;
    EXPECT_NE(rr.status().message().find("claims a record of"), std::string::npos) << rr.status().message();
  }
}

// A worker's job that throws (std::bad_alloc when memory runs out) reaches
// the submitting thread, where main's catch-all reports it; before, the
// worker thread called std::terminate (ddloop create under ulimit -v: exit
// 134).
TEST(Hostile, PoolJobThatThrowsReachesTheSubmitter) {
  std::vector<int> got;
  OrderedPool<int> pool(2, 4, [&got](int&& v) {
    got.push_back(v);
    return Status::Ok();
  });
  bool thrown = false;
  try {
    for (int i = 0; i < 8; i++) {
      Status s = pool.Submit([i]() -> int {
        if (i == 3) throw std::bad_alloc();
        return i;
      });
      ASSERT_TRUE(s.ok());
    }
    (void)pool.Drain();
  } catch (const std::bad_alloc&) {
    thrown = true;
  }
  EXPECT_TRUE(thrown);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));  // in order, up to the failed job
}

}  // namespace
}  // namespace ddl::test
