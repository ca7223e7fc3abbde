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
  // Check the ranges before allocating anything they size.
  s = order_->Check(rh);
  if (!s.ok()) return Fail(s);
  const size_t body = size_t(rh.nhash) * DDL_HASH_SIZE + rh.payload_size;
  payload_.resize(body);
  DDL_RETURN_IF_ERROR(ReadFull(payload_.data(), body, true));
  s = DecodeRecordBody(hdr, rh, payload_.data(), &dz_, r);
  if (!s.ok()) return Fail(s.Prefix(where));
  r->file_offset = at;
  IndexEntry e{rh.offset, rh.length, at, static_cast<uint32_t>(rh.record_size()), rh.type, rh.codec};
  uint8_t enc[32];
  EncodeIndexEntry(e, enc);
  index_expected_.Update(enc, sizeof enc);
  *more = true;
  return Status::Ok();
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
      if (index_seen.Digest() != index_expected_.Digest())
        return Fail(Corruption("index does not match the records"));
      if (f_.record_count != records || f_.end_offset != end_offset_ || f_.index_offset != end_offset_ + DDL_RECORD_SIZE ||
          f_.index_blocks != b)
        return Fail(Corruption("footer does not match the file"));
      s = CheckFooterAgainst(h_, f_, at + DDL_FOOTER_SIZE);
      if (!s.ok()) return Fail(s);
      if (file_hash_.Digest() != f_.file_csum) return Fail(Corruption("whole-file checksum mismatch"));
      uint8_t extra;
      size_t got = 0;
      DDL_RETURN_IF_ERROR(in_->Read(&extra, 1, &got));
      if (got != 0) return Fail(Corruption("data after the footer"));
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
