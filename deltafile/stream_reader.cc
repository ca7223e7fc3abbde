// stream_reader.cc - StreamReader: front-to-back reading with no seek.
#include <cstring>

#include "deltafile/endian.h"
#include "deltafile/reader.h"

namespace ddl {

Status StreamReader::Fail(const Status& s) {
  status_ = s.Prefix(in_->name());
  return status_;
}

Status StreamReader::ReadFull(void* p, size_t n, bool hash) {
  if (n == 0) return Status::Ok();
  size_t got = 0;
  Status s = in_->Read(p, n, &got);
  if (!s.ok()) return s;
  if (got != n) {
    pos_ += got;
    return Fail(Truncated("unexpected end of input at byte " + std::to_string(pos_)));
  }
  if (hash) file_hash_.Update(p, n);
  pos_ += n;
  return Status::Ok();
}

Status StreamReader::ReadHeader() {
  uint8_t b[DDL_HEADER_SIZE];
  DDL_RETURN_IF_ERROR(ReadFull(b, sizeof b, false));
  Status s = DecodeHeader(b, &h_);
  if (!s.ok()) return Fail(s);
  order_ = std::make_unique<RecordOrderChecker>(h_);
  tracker_ = std::make_unique<NewHashTracker>(h_.chunk_shift, h_.volume_size);
  fp_ = h_.base.fingerprint;
  header_done_ = true;
  return Status::Ok();
}

Status DecodeRecordBody(const uint8_t hdr[DDL_RECORD_SIZE], const RecordHeader& rh, const uint8_t* body,
                        Decompressor* dz, Record* r) {
  r->h = rh;
  const size_t hash_bytes = size_t(rh.nhash) * DDL_HASH_SIZE;
  if (!RecordChecksumOk(hdr, body, rh.nhash)) return Corruption("header checksum mismatch");
  r->old.resize(rh.nhash);
  if (hash_bytes) std::memcpy(r->old.data(), body, hash_bytes);
  r->data.clear();
  if (rh.type != DDL_REC_DATA) return Status::Ok();
  const uint8_t* payload = body + hash_bytes;
  r->data.resize(rh.length);
  if (rh.codec == DDL_CODEC_ZSTD) {
    DDL_RETURN_IF_ERROR(dz->Decompress(payload, rh.payload_size, r->data.data(), rh.length));
  } else {
    std::memcpy(r->data.data(), payload, rh.length);
  }
  if (Xxh64(r->data.data(), r->data.size()) != rh.data_csum) return Corruption("data checksum mismatch");
  return Status::Ok();
}

Status StreamReader::Next(Record* r, bool* more) {
  if (!status_.ok()) return status_;
  if (!header_done_ || records_done_) return InvalidArgument("StreamReader::Next out of order");
  const uint64_t at = pos_;
  uint8_t hdr[DDL_RECORD_SIZE];
  DDL_RETURN_IF_ERROR(ReadFull(hdr, sizeof hdr, true));
  RecordHeader rh;
  const std::string where = "record " + std::to_string(order_->count()) + " at byte " + std::to_string(at);
  Status s = DecodeRecordHeader(hdr, &rh);
  if (!s.ok()) return Fail(s.Prefix(where));
  if (rh.type == DDL_REC_END) {
    if (!RecordChecksumOk(hdr, nullptr, 0)) return Fail(Corruption(where + ": END record checksum mismatch"));
    s = order_->CheckEnd(rh);
    if (!s.ok()) return Fail(s.Prefix(where));
    end_offset_ = at;
    records_done_ = true;
    *more = false;
    return Status::Ok();
  }
  // The hash table is bounded (DDL_MAX_RECORD_HASHES) so it can be read
  // before the checksum is known good; the payload only after the checksum
  // and the range checks, which bound its size.
  const size_t hash_bytes = size_t(rh.nhash) * DDL_HASH_SIZE;
  payload_.resize(hash_bytes);
  DDL_RETURN_IF_ERROR(ReadFull(payload_.data(), hash_bytes, true));
  if (!RecordChecksumOk(hdr, payload_.data(), rh.nhash)) return Fail(Corruption(where + ": header checksum mismatch"));
  s = order_->Check(rh);
  if (!s.ok()) return Fail(s.Prefix("at byte " + std::to_string(at)));
  payload_.resize(hash_bytes + rh.payload_size);
  DDL_RETURN_IF_ERROR(ReadFull(payload_.data() + hash_bytes, rh.payload_size, true));
  s = DecodeRecordBody(hdr, rh, payload_.data(), &dz_, r);
  if (s.ok()) s = CheckSeedHashes(h_, r->old);
  if (!s.ok()) return Fail(s.Prefix(where));
  r->file_offset = at;
  Account(*r);
  IndexEntry e{rh.offset, rh.length, at, static_cast<uint32_t>(rh.record_size()), rh.type, rh.codec};
  uint8_t enc[32];
  EncodeIndexEntry(e, enc);
  index_expected_.Update(enc, sizeof enc);
  *more = true;
  return Status::Ok();
}

void StreamReader::Account(const Record& r) {
  (r.h.type == DDL_REC_DATA ? totals_.data_bytes : totals_.zero_bytes) += r.h.length;
  totals_.payload_bytes += r.h.payload_size;
  totals_.changed_chunks += r.old.size();
  const uint64_t first = FirstChunkStarting(r.h.offset, h_.chunk_shift);
  for (size_t k = 0; k < r.old.size(); k++) fp_.Sub(first + k, r.old[k]);
  tracker_->Feed(r, [this](uint64_t idx, const ChunkHash& nh) { fp_.Add(idx, nh); });
}

Status StreamReader::Finish() {
  if (!status_.ok()) return status_;
  if (!records_done_) return InvalidArgument("StreamReader::Finish before the END record");
  // Index blocks until the footer magic; compare entries with the records.
  const uint64_t records = order_->count();
  Xxh64Stream index_seen;
  uint64_t entries = 0;
  std::vector<uint8_t> block(DDL_INDEX_BLOCK_SIZE);
  std::vector<IndexEntry> decoded;
  for (uint64_t b = 0;; b++) {
    const uint64_t at = pos_;
    DDL_RETURN_IF_ERROR(ReadFull(block.data(), DDL_MAGIC_LEN, false));
    if (std::memcmp(block.data(), DDL_FOOTER_MAGIC, DDL_MAGIC_LEN) == 0) {
      uint8_t foot[DDL_FOOTER_SIZE];
      std::memcpy(foot, block.data(), DDL_MAGIC_LEN);
      DDL_RETURN_IF_ERROR(ReadFull(foot + DDL_MAGIC_LEN, DDL_FOOTER_SIZE - DDL_MAGIC_LEN, false));
      file_hash_.Update(foot, offsetof(ddl_footer, file_csum));
      Status s = DecodeFooter(foot, &f_);
      if (!s.ok()) return Fail(s);
      if (entries != records || b != IndexBlocksFor(records))
        return Fail(Corruption("index has " + std::to_string(entries) + " entries for " + std::to_string(records) +
                               " records"));
      if (index_seen.Digest() != index_expected_.Digest()) return Fail(Corruption("index does not match the records"));
      if (f_.record_count != records || f_.end_offset != end_offset_ ||
          f_.index_offset != end_offset_ + DDL_RECORD_SIZE || f_.index_blocks != b)
        return Fail(Corruption("footer does not match the file"));
      if (f_.data_bytes != totals_.data_bytes || f_.zero_bytes != totals_.zero_bytes ||
          f_.payload_bytes != totals_.payload_bytes || f_.changed_chunks != totals_.changed_chunks)
        return Fail(Corruption("footer totals do not match the records"));
      s = CheckFooterAgainst(h_, f_, at + DDL_FOOTER_SIZE);
      if (!s.ok()) return Fail(s);
      if (file_hash_.Digest() != f_.file_csum) return Fail(Corruption("whole-file checksum mismatch"));
      uint8_t extra;
      size_t got = 0;
      DDL_RETURN_IF_ERROR(in_->Read(&extra, 1, &got));
      if (got != 0) return Fail(Corruption("data after the footer"));
      if (fp_ != h_.target.fingerprint)
        return Fail(Corruption("the records do not turn the base fingerprint into the target fingerprint"));
      return Status::Ok();
    }
    file_hash_.Update(block.data(), DDL_MAGIC_LEN);
    DDL_RETURN_IF_ERROR(ReadFull(block.data() + DDL_MAGIC_LEN, DDL_INDEX_BLOCK_SIZE - DDL_MAGIC_LEN, true));
    decoded.clear();
    Status s = DecodeIndexBlock(block.data(), b, at, &decoded);
    if (!s.ok()) return Fail(s);
    for (const IndexEntry& e : decoded) {
      uint8_t enc[32];
      EncodeIndexEntry(e, enc);
      index_seen.Update(enc, sizeof enc);
    }
    entries += decoded.size();
    if (decoded.size() < DDL_INDEX_PER_BLOCK && entries < records)
      return Fail(Corruption("index block " + std::to_string(b) + " is not full but is not the last"));
    if (entries > records) return Fail(Corruption("index has more entries than records"));
  }
}

}  // namespace ddl
