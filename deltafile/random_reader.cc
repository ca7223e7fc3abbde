// random_reader.cc - RandomReader: header + footer + index, then records
// read at random.
#include <algorithm>
#include <cstring>

#include "deltafile/reader.h"

namespace ddl {

namespace {

std::string N(uint64_t v) { return std::to_string(v); }

// Index entries reserved before the index is read (the vector grows past it).
constexpr uint64_t kReserveEntries = 1 << 16;

// The smallest and largest record_size a record with entry e's type, codec
// and range can have (deltafile(5) RECORDS): the header, one old-hash entry
// per chunk starting in the range, and the payload (DATA: the raw bytes, or
// a zstd frame of 1..length+4096 bytes). e.length is already checked
// against the frame size. False when the range starts more chunks than a
// record may hash.
bool RecordSizeBounds(const IndexEntry& e, uint32_t shift, uint64_t* lo, uint64_t* hi) {
  const uint64_t nhash = ChunksStarting(e.offset, e.length, shift);
  if (nhash > DDL_MAX_RECORD_HASHES) return false;
  *lo = *hi = DDL_RECORD_SIZE + DDL_HASH_SIZE * nhash;
  if (e.type != DDL_REC_DATA) return true;
  if (e.codec == DDL_CODEC_ZSTD) {
    *lo += 1;
    *hi += e.length + 4096;
  } else {
    *lo += e.length;
    *hi += e.length;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<RandomReader>> RandomReader::Open(File* file) {
  std::unique_ptr<RandomReader> r(new RandomReader);
  r->file_ = file;
  const std::string& name = file->name();
  DDL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size < DDL_HEADER_SIZE) return Truncated(name + ": truncated: " + N(size) + " bytes, shorter than a header");
  uint8_t hdr[DDL_HEADER_SIZE];
  DDL_RETURN_IF_ERROR(file->ReadExact(0, hdr, sizeof hdr));
  DDL_RETURN_IF_ERROR(DecodeHeader(hdr, &r->h_).Prefix(name));
  const uint64_t min_size = DDL_HEADER_SIZE + DDL_RECORD_SIZE + DDL_FOOTER_SIZE;
  if (size < min_size) return Truncated(name + ": truncated: " + N(size) + " bytes, no room for the footer");
  uint8_t foot[DDL_FOOTER_SIZE];
  DDL_RETURN_IF_ERROR(file->ReadExact(size - DDL_FOOTER_SIZE, foot, sizeof foot));
  DDL_RETURN_IF_ERROR(DecodeFooter(foot, &r->f_).Prefix(name));
  DDL_RETURN_IF_ERROR(CheckFooterAgainst(r->h_, r->f_, size).Prefix(name));

  // END record.
  uint8_t end[DDL_RECORD_SIZE];
  DDL_RETURN_IF_ERROR(file->ReadExact(r->f_.end_offset, end, sizeof end));
  RecordHeader eh;
  Status s = DecodeRecordHeader(end, &eh);
  if (s.ok() && !RecordChecksumOk(end, nullptr, 0)) s = Corruption("END record checksum mismatch");
  if (s.ok() && (eh.type != DDL_REC_END || eh.seq != r->f_.record_count || eh.offset != r->h_.volume_size))
    s = Corruption("END record does not match the footer");
  DDL_RETURN_IF_ERROR(s.Prefix(name));

  // Index: every block checked; entries must tile the record region exactly
  // and be sorted by volume offset.
  std::vector<uint8_t> block(DDL_INDEX_BLOCK_SIZE);
  // record_count is bounded by the file (CheckFooterAgainst), but a sparse
  // file can be large without holding anything: reserve only a little and
  // let the vector grow with the blocks that really decode.
  r->index_.reserve(static_cast<size_t>(std::min<uint64_t>(r->f_.record_count, kReserveEntries)));
  for (uint64_t b = 0; b < r->f_.index_blocks; b++) {
    const uint64_t at = r->f_.index_offset + b * DDL_INDEX_BLOCK_SIZE;
    DDL_RETURN_IF_ERROR(file->ReadExact(at, block.data(), block.size()));
    size_t before = r->index_.size();
    DDL_RETURN_IF_ERROR(DecodeIndexBlock(block.data(), b, at, &r->index_).Prefix(name));
    if (r->index_.size() - before < DDL_INDEX_PER_BLOCK && b + 1 != r->f_.index_blocks)
      return Corruption(name + ": index block " + N(b) + " is not full but is not the last");
  }
  if (r->index_.size() != r->f_.record_count)
    return Corruption(name + ": index holds " + N(r->index_.size()) + " entries, footer says " + N(r->f_.record_count));
  uint64_t expect_file = DDL_HEADER_SIZE, data_bytes = 0, zero_bytes = 0;
  RecordOrderChecker order(r->h_, /*check_nhash=*/false);
  for (size_t i = 0; i < r->index_.size(); i++) {
    const IndexEntry& e = r->index_[i];
    const std::string at = name + ": index entry " + N(i) + " ";
    if (e.file_offset != expect_file || e.record_size < DDL_RECORD_SIZE || e.file_offset >= r->f_.end_offset ||
        e.record_size > r->f_.end_offset - e.file_offset)
      return Corruption(at + "points outside the records (file offset " + N(e.file_offset) + ")");
    if ((e.type != DDL_REC_DATA && e.type != DDL_REC_ZERO) || e.codec > DDL_CODEC_ZSTD ||
        (e.type == DDL_REC_ZERO && e.codec != DDL_CODEC_NONE))
      return Corruption(at + "has a bad type or codec");
    RecordHeader rh;
    rh.type = e.type;
    rh.codec = e.codec;
    rh.seq = i;
    rh.offset = e.offset;
    rh.length = e.length;
    Status os = order.Check(rh);
    if (!os.ok()) return Corruption(at + "breaks the ordering rules: " + os.message());
    // The record's size follows from its range (the hash table) and its
    // length (the payload), so ReadRecord never sizes a buffer by a claim.
    uint64_t lo = 0, hi = 0;
    if (!RecordSizeBounds(e, r->h_.chunk_shift, &lo, &hi))
      return Corruption(at + "covers more chunks than a record may (" + N(DDL_MAX_RECORD_HASHES) + ")");
    if (e.record_size < lo || e.record_size > hi)
      return Corruption(at + "claims a record of " + N(e.record_size) + " bytes; its range allows " + N(lo) + ".." +
                        N(hi));
    (e.type == DDL_REC_DATA ? data_bytes : zero_bytes) += e.length;
    expect_file += e.record_size;
  }
  if (expect_file != r->f_.end_offset) return Corruption(name + ": index does not account for every record byte");
  if (!order.CheckEnd(eh).ok() || data_bytes != r->f_.data_bytes || zero_bytes != r->f_.zero_bytes)
    return Corruption(name + ": index does not add up to the footer's totals");
  return r;
}

size_t RandomReader::Find(uint64_t offset) const {
  auto it = std::upper_bound(index_.begin(), index_.end(), offset,
                             [](uint64_t off, const IndexEntry& e) { return off < e.offset + e.length; });
  return static_cast<size_t>(it - index_.begin());
}

Status RandomReader::ReadRecord(size_t i, Record* r, Decompressor* dz) const {
  const IndexEntry& e = index_[i];
  const std::string where = file_->name() + ": record " + N(i) + " at byte " + N(e.file_offset);
  std::vector<uint8_t> buf(e.record_size);
  DDL_RETURN_IF_ERROR(file_->ReadExact(e.file_offset, buf.data(), buf.size()));
  RecordHeader rh;
  DDL_RETURN_IF_ERROR(DecodeRecordHeader(buf.data(), &rh).Prefix(where));
  if (DDL_RECORD_SIZE + uint64_t(rh.nhash) * DDL_HASH_SIZE > buf.size() ||
      !RecordChecksumOk(buf.data(), buf.data() + DDL_RECORD_SIZE, rh.nhash))
    return Corruption(where + ": header checksum mismatch");
  if (rh.type != e.type || rh.codec != e.codec || rh.offset != e.offset || rh.length != e.length ||
      rh.record_size() != e.record_size || rh.seq != i)
    return Corruption(where + ": record does not match its index entry");
  if (rh.type == DDL_REC_DATA && rh.length > h_.frame_max)
    return Corruption(where + ": holds more than the frame size");
  DDL_RETURN_IF_ERROR(DecodeRecordBody(buf.data(), rh, buf.data() + DDL_RECORD_SIZE, dz, r).Prefix(where));
  DDL_RETURN_IF_ERROR(CheckSeedHashes(h_, r->old).Prefix(where));
  r->file_offset = e.file_offset;
  return Status::Ok();
}

Status RandomReader::ReadRecordHashes(size_t i, std::vector<ChunkHash>* old) const {
  const IndexEntry& e = index_[i];
  const std::string where = file_->name() + ": record " + N(i) + " at byte " + N(e.file_offset);
  uint8_t hdr[DDL_RECORD_SIZE];
  DDL_RETURN_IF_ERROR(file_->ReadExact(e.file_offset, hdr, sizeof hdr));
  RecordHeader rh;
  DDL_RETURN_IF_ERROR(DecodeRecordHeader(hdr, &rh).Prefix(where));
  if (DDL_RECORD_SIZE + uint64_t(rh.nhash) * DDL_HASH_SIZE > e.record_size)
    return Corruption(where + ": header checksum mismatch");
  old->resize(rh.nhash);
  static_assert(sizeof(ChunkHash) == DDL_HASH_SIZE, "ChunkHash is packed");
  DDL_RETURN_IF_ERROR(file_->ReadExact(e.file_offset + DDL_RECORD_SIZE, old->data(), size_t(rh.nhash) * DDL_HASH_SIZE));
  if (!RecordChecksumOk(hdr, reinterpret_cast<const uint8_t*>(old->data()), rh.nhash))
    return Corruption(where + ": header checksum mismatch");
  if (rh.record_size() != e.record_size || rh.offset != e.offset || rh.seq != i)
    return Corruption(where + ": record does not match its index entry");
  return Status::Ok();
}

Status RandomReader::CheckFileChecksum() const {
  const uint64_t end = f_.index_offset + f_.index_blocks * DDL_INDEX_BLOCK_SIZE + offsetof(ddl_footer, file_csum);
  Xxh64Stream x;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t pos = DDL_HEADER_SIZE; pos < end;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - pos));
    DDL_RETURN_IF_ERROR(file_->ReadExact(pos, buf.data(), n));
    x.Update(buf.data(), n);
    pos += n;
  }
  if (x.Digest() != f_.file_csum) return Corruption(file_->name() + ": whole-file checksum mismatch");
  return Status::Ok();
}

}  // namespace ddl
