// format.cc - encoders and validating decoders for deltafile(5) structures.
#include "deltafile/format.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "deltafile/endian.h"
#include "deltafile/hex.h"

namespace ddl {

namespace {

std::string N(uint64_t v) { return std::to_string(v); }

void PutIdentity(const Identity& id, uint8_t* p) {
  std::memcpy(p, id.snapshot.b, DDL_UUID_SIZE);
  id.fingerprint.Encode(p + DDL_UUID_SIZE);
}

Identity GetIdentity(const uint8_t* p) {
  Identity id;
  std::memcpy(id.snapshot.b, p, DDL_UUID_SIZE);
  id.fingerprint = Fingerprint::Decode(p + DDL_UUID_SIZE);
  return id;
}

}  // namespace

std::string Identity::ToString() const { return snapshot.ToString() + "/" + fingerprint.Hex().substr(0, 16); }

uint64_t Header::chunk_len(uint64_t i) const {
  uint64_t start = i << chunk_shift;
  uint64_t end = start + chunk_size();
  return (end > volume_size ? volume_size : end) - start;
}

void EncodeHeader(Header* h, uint8_t out[DDL_HEADER_SIZE]) {
  std::memset(out, 0, DDL_HEADER_SIZE);
  std::memcpy(out + offsetof(ddl_header, magic), DDL_MAGIC, DDL_MAGIC_LEN);
  StoreLE32(out + offsetof(ddl_header, version), h->version);
  StoreLE32(out + offsetof(ddl_header, header_size), DDL_HEADER_SIZE);
  StoreLE64(out + offsetof(ddl_header, incompat_features), h->incompat);
  StoreLE64(out + offsetof(ddl_header, compat_features), h->compat);
  std::memcpy(out + offsetof(ddl_header, volume_uuid), h->volume_uuid.b, DDL_UUID_SIZE);
  StoreLE64(out + offsetof(ddl_header, volume_size), h->volume_size);
  StoreLE32(out + offsetof(ddl_header, chunk_shift), h->chunk_shift);
  StoreLE32(out + offsetof(ddl_header, frame_max), h->frame_max);
  StoreLE32(out + offsetof(ddl_header, codec), h->codec);
  StoreLE32(out + offsetof(ddl_header, flags), h->flags);
  StoreLE64(out + offsetof(ddl_header, create_time_ns), h->create_time_ns);
  StoreLE32(out + offsetof(ddl_header, chunk_hash), DDL_CHUNK_HASH_XXH3_128);
  StoreLE32(out + offsetof(ddl_header, record_csum), DDL_RECORD_CSUM_XXH64);
  PutIdentity(h->base, out + offsetof(ddl_header, base));
  PutIdentity(h->target, out + offsetof(ddl_header, target));
  h->header_csum = Xxh64(out, offsetof(ddl_header, header_csum));
  StoreLE64(out + offsetof(ddl_header, header_csum), h->header_csum);
}

Status ValidateHeaderFields(const Header& h) {
  if (h.volume_size == 0 || h.volume_size % 512 != 0)
    return Corruption("volume size " + N(h.volume_size) + " is not a positive multiple of 512");
  if (h.chunk_shift < DDL_CHUNK_SHIFT_MIN || h.chunk_shift > DDL_CHUNK_SHIFT_MAX)
    return Corruption("chunk size 2^" + N(h.chunk_shift) + " is outside 4 KiB..1 MiB");
  if (h.frame_max < DDL_FRAME_MIN || h.frame_max > DDL_FRAME_MAX_LIMIT || h.frame_max % 4096 != 0)
    return Corruption("frame size " + N(h.frame_max) + " is not a multiple of 4096 in 4 KiB..256 KiB");
  if (h.codec != DDL_CODEC_NONE && h.codec != DDL_CODEC_ZSTD) return Unsupported("unknown codec " + N(h.codec));
  if (h.codec == DDL_CODEC_ZSTD && !(h.incompat & DDL_INCOMPAT_ZSTD))
    return Corruption("codec zstd without the zstd feature bit");
  if (h.flags & ~DDL_HF_KNOWN) return Unsupported("unknown header flags " + Hex0x(h.flags & ~DDL_HF_KNOWN));
  if (h.seed() && !(h.base == Identity())) return Corruption("seed delta with a base identity");
  if (h.volume_size >> h.chunk_shift >= (uint64_t(1) << 56))
    return Corruption("volume size " + N(h.volume_size) + " is too large");
  return Status::Ok();
}

Status DecodeHeader(const uint8_t in[DDL_HEADER_SIZE], Header* h) {
  if (std::memcmp(in, DDL_MAGIC, DDL_MAGIC_LEN) != 0) return Corruption("bad magic: not a deltafile");
  h->version = LoadLE32(in + offsetof(ddl_header, version));
  uint64_t stored = LoadLE64(in + offsetof(ddl_header, header_csum));
  uint64_t actual = Xxh64(in, offsetof(ddl_header, header_csum));
  // Version and header size are checked before the checksum, so a future
  // format with another header layout is reported as unsupported.
  if (h->version != DDL_VERSION)
    return Unsupported("format version " + N(h->version) + " (this ddloop reads version " + N(DDL_VERSION) + ")");
  if (LoadLE32(in + offsetof(ddl_header, header_size)) != DDL_HEADER_SIZE)
    return Unsupported("header size is not " + N(DDL_HEADER_SIZE));
  if (stored != actual) return Corruption("header checksum mismatch");
  h->header_csum = stored;
  h->incompat = LoadLE64(in + offsetof(ddl_header, incompat_features));
  h->compat = LoadLE64(in + offsetof(ddl_header, compat_features));
  if (h->incompat & ~DDL_INCOMPAT_KNOWN)
    return Unsupported("unknown incompatible feature bits " + Hex0x(h->incompat & ~DDL_INCOMPAT_KNOWN));
  std::memcpy(h->volume_uuid.b, in + offsetof(ddl_header, volume_uuid), DDL_UUID_SIZE);
  h->volume_size = LoadLE64(in + offsetof(ddl_header, volume_size));
  h->chunk_shift = LoadLE32(in + offsetof(ddl_header, chunk_shift));
  h->frame_max = LoadLE32(in + offsetof(ddl_header, frame_max));
  h->codec = LoadLE32(in + offsetof(ddl_header, codec));
  h->flags = LoadLE32(in + offsetof(ddl_header, flags));
  h->create_time_ns = LoadLE64(in + offsetof(ddl_header, create_time_ns));
  if (LoadLE32(in + offsetof(ddl_header, chunk_hash)) != DDL_CHUNK_HASH_XXH3_128)
    return Unsupported("unknown chunk hash " + N(LoadLE32(in + offsetof(ddl_header, chunk_hash))));
  if (LoadLE32(in + offsetof(ddl_header, record_csum)) != DDL_RECORD_CSUM_XXH64)
    return Unsupported("unknown record checksum " + N(LoadLE32(in + offsetof(ddl_header, record_csum))));
  h->base = GetIdentity(in + offsetof(ddl_header, base));
  h->target = GetIdentity(in + offsetof(ddl_header, target));
  DDL_RETURN_IF_ERROR(ValidateHeaderFields(*h));
  if (!h->seed() && h->base.snapshot.IsNil()) return Corruption("base snapshot UUID is nil in a non-seed delta");
  if (h->target.snapshot.IsNil()) return Corruption("target snapshot UUID is nil");
  return Status::Ok();
}

void EncodeRecordHeader(const RecordHeader& r, const uint8_t* hashes, uint8_t out[DDL_RECORD_SIZE]) {
  std::memset(out, 0, DDL_RECORD_SIZE);
  StoreLE32(out + offsetof(ddl_record, magic), DDL_RECORD_MAGIC);
  StoreLE16(out + offsetof(ddl_record, type), r.type);
  StoreLE16(out + offsetof(ddl_record, codec), r.codec);
  StoreLE64(out + offsetof(ddl_record, seq), r.seq);
  StoreLE64(out + offsetof(ddl_record, offset), r.offset);
  StoreLE64(out + offsetof(ddl_record, length), r.length);
  StoreLE32(out + offsetof(ddl_record, payload_size), r.payload_size);
  StoreLE32(out + offsetof(ddl_record, nhash), r.nhash);
  StoreLE64(out + offsetof(ddl_record, data_csum), r.data_csum);
  Xxh64Stream x;
  x.Update(out, offsetof(ddl_record, header_csum));
  x.Update(hashes, size_t(r.nhash) * DDL_HASH_SIZE);
  StoreLE64(out + offsetof(ddl_record, header_csum), x.Digest());
}

bool RecordChecksumOk(const uint8_t in[DDL_RECORD_SIZE], const uint8_t* hashes, uint32_t nhash) {
  Xxh64Stream x;
  x.Update(in, offsetof(ddl_record, header_csum));
  x.Update(hashes, size_t(nhash) * DDL_HASH_SIZE);
  return x.Digest() == LoadLE64(in + offsetof(ddl_record, header_csum));
}

Status DecodeRecordHeader(const uint8_t in[DDL_RECORD_SIZE], RecordHeader* r) {
  if (LoadLE32(in + offsetof(ddl_record, magic)) != DDL_RECORD_MAGIC) return Corruption("bad record magic");
  r->type = LoadLE16(in + offsetof(ddl_record, type));
  r->codec = LoadLE16(in + offsetof(ddl_record, codec));
  r->seq = LoadLE64(in + offsetof(ddl_record, seq));
  r->offset = LoadLE64(in + offsetof(ddl_record, offset));
  r->length = LoadLE64(in + offsetof(ddl_record, length));
  r->payload_size = LoadLE32(in + offsetof(ddl_record, payload_size));
  r->nhash = LoadLE32(in + offsetof(ddl_record, nhash));
  r->data_csum = LoadLE64(in + offsetof(ddl_record, data_csum));
  if (r->type != DDL_REC_DATA && r->type != DDL_REC_ZERO && r->type != DDL_REC_END)
    return Corruption("unknown record type " + N(r->type));
  if (r->codec != DDL_CODEC_NONE && r->codec != DDL_CODEC_ZSTD)
    return Corruption("unknown record codec " + N(r->codec));
  if (r->nhash > DDL_MAX_RECORD_HASHES) return Corruption("record has " + N(r->nhash) + " hashes, more than allowed");
  if (r->type != DDL_REC_DATA && (r->payload_size != 0 || r->codec != DDL_CODEC_NONE || r->data_csum != 0))
    return Corruption("non-data record with a payload");
  if (r->type == DDL_REC_DATA && r->codec == DDL_CODEC_NONE && r->payload_size != r->length)
    return Corruption("raw record payload size differs from its length");
  if (r->type == DDL_REC_DATA && r->codec == DDL_CODEC_ZSTD &&
      (r->payload_size == 0 || r->payload_size > r->length + 4096))
    return Corruption("compressed payload size " + N(r->payload_size) + " is impossible for its length");
  return Status::Ok();
}

uint64_t FirstChunkStarting(uint64_t offset, uint32_t shift) { return (offset + (uint64_t(1) << shift) - 1) >> shift; }

uint64_t ChunksStarting(uint64_t offset, uint64_t length, uint32_t shift) {
  return FirstChunkStarting(offset + length, shift) - FirstChunkStarting(offset, shift);
}

Status RecordOrderChecker::Check(const RecordHeader& r) {
  const std::string at = "record " + N(count_) + ": ";
  const uint64_t cmask = h_.chunk_size() - 1;
  if (r.type == DDL_REC_END) return Corruption(at + "unexpected END");
  if (r.seq != count_) return Corruption(at + "sequence number " + N(r.seq) + " out of order");
  if (r.length == 0 || r.offset % 512 || r.length % 512)
    return Corruption(at + "range is empty or not a multiple of 512 bytes");
  if (r.offset >= h_.volume_size || r.length > h_.volume_size - r.offset)
    return Corruption(at + "range ends past the volume size");
  if (r.offset < prev_end_) return Corruption(at + "overlaps or precedes the previous record");
  if (mid_chunk_) {
    if (r.offset != prev_end_ || r.type != DDL_REC_DATA)
      return Corruption(at + "does not continue the chunk the previous record left unfinished");
  } else if (r.offset & cmask) {
    return Corruption(at + "does not start at a chunk boundary");
  }
  const uint64_t end = r.offset + r.length;
  if (r.type == DDL_REC_DATA) {
    if (r.length > h_.frame_max) return Corruption(at + "holds more than the frame size");
    if (r.codec == DDL_CODEC_ZSTD && !(h_.incompat & DDL_INCOMPAT_ZSTD))
      return Corruption(at + "zstd record without the zstd feature bit");
  } else if ((end & cmask) && end != h_.volume_size) {
    return Corruption(at + "zero record does not end at a chunk boundary");
  }
  if (check_nhash_ && r.nhash != ChunksStarting(r.offset, r.length, h_.chunk_shift))
    return Corruption(at + "has " + N(r.nhash) + " old-chunk hashes, expected " +
                      N(ChunksStarting(r.offset, r.length, h_.chunk_shift)));
  mid_chunk_ = (end & cmask) != 0 && end != h_.volume_size;
  prev_end_ = end;
  count_++;
  return Status::Ok();
}

Status CheckSeedHashes(const Header& h, const std::vector<ChunkHash>& old) {
  if (!h.seed()) return Status::Ok();
  for (const ChunkHash& c : old)
    if (!c.IsZeroMarker()) return Corruption("a seed delta's record has a base hash that is not the zero marker");
  return Status::Ok();
}

Status RecordOrderChecker::CheckEnd(const RecordHeader& e) {
  if (e.type != DDL_REC_END) return Corruption("expected END record");
  if (mid_chunk_) return Corruption("records end inside a chunk");
  if (e.seq != count_ || e.offset != h_.volume_size || e.length != 0 || e.nhash != 0)
    return Corruption("END record fields are inconsistent");
  return Status::Ok();
}

bool IndexEntry::operator==(const IndexEntry& o) const {
  return offset == o.offset && length == o.length && file_offset == o.file_offset && record_size == o.record_size &&
         type == o.type && codec == o.codec;
}

void EncodeIndexEntry(const IndexEntry& e, uint8_t out[32]) {
  StoreLE64(out + offsetof(ddl_index_entry, offset), e.offset);
  StoreLE64(out + offsetof(ddl_index_entry, length), e.length);
  StoreLE64(out + offsetof(ddl_index_entry, file_offset), e.file_offset);
  StoreLE32(out + offsetof(ddl_index_entry, record_size), e.record_size);
  StoreLE16(out + offsetof(ddl_index_entry, type), e.type);
  StoreLE16(out + offsetof(ddl_index_entry, codec), e.codec);
}

void EncodeIndexBlock(uint64_t block_no, uint64_t file_offset, const IndexEntry* e, size_t count,
                      uint8_t out[DDL_INDEX_BLOCK_SIZE]) {
  std::memset(out, 0, DDL_INDEX_BLOCK_SIZE);
  StoreLE32(out + offsetof(ddl_index_block, magic), DDL_INDEX_MAGIC);
  StoreLE32(out + offsetof(ddl_index_block, count), static_cast<uint32_t>(count));
  StoreLE64(out + offsetof(ddl_index_block, block_no), block_no);
  StoreLE64(out + offsetof(ddl_index_block, file_offset), file_offset);
  for (size_t i = 0; i < count; i++) EncodeIndexEntry(e[i], out + offsetof(ddl_index_block, entries) + 32 * i);
  StoreLE64(out + offsetof(ddl_index_block, csum), Xxh64(out, offsetof(ddl_index_block, csum)));
}

Status DecodeIndexBlock(const uint8_t in[DDL_INDEX_BLOCK_SIZE], uint64_t block_no, uint64_t file_offset,
                        std::vector<IndexEntry>* out) {
  const std::string at = "index block " + N(block_no) + ": ";
  if (LoadLE32(in + offsetof(ddl_index_block, magic)) != DDL_INDEX_MAGIC) return Corruption(at + "bad magic");
  if (Xxh64(in, offsetof(ddl_index_block, csum)) != LoadLE64(in + offsetof(ddl_index_block, csum)))
    return Corruption(at + "checksum mismatch");
  if (LoadLE64(in + offsetof(ddl_index_block, block_no)) != block_no ||
      LoadLE64(in + offsetof(ddl_index_block, file_offset)) != file_offset)
    return Corruption(at + "belongs elsewhere (misplaced block)");
  uint32_t count = LoadLE32(in + offsetof(ddl_index_block, count));
  if (count == 0 || count > DDL_INDEX_PER_BLOCK) return Corruption(at + "bad entry count " + N(count));
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* p = in + offsetof(ddl_index_block, entries) + 32 * i;
    IndexEntry e;
    e.offset = LoadLE64(p + offsetof(ddl_index_entry, offset));
    e.length = LoadLE64(p + offsetof(ddl_index_entry, length));
    e.file_offset = LoadLE64(p + offsetof(ddl_index_entry, file_offset));
    e.record_size = LoadLE32(p + offsetof(ddl_index_entry, record_size));
    e.type = LoadLE16(p + offsetof(ddl_index_entry, type));
    e.codec = LoadLE16(p + offsetof(ddl_index_entry, codec));
    out->push_back(e);
  }
  return Status::Ok();
}

void EncodeFooterPrefix(const Footer& f, uint8_t out[DDL_FOOTER_SIZE]) {
  std::memset(out, 0, DDL_FOOTER_SIZE);
  std::memcpy(out + offsetof(ddl_footer, magic), DDL_FOOTER_MAGIC, DDL_MAGIC_LEN);
  StoreLE64(out + offsetof(ddl_footer, index_offset), f.index_offset);
  StoreLE64(out + offsetof(ddl_footer, index_blocks), f.index_blocks);
  StoreLE64(out + offsetof(ddl_footer, record_count), f.record_count);
  StoreLE64(out + offsetof(ddl_footer, end_offset), f.end_offset);
  StoreLE64(out + offsetof(ddl_footer, data_bytes), f.data_bytes);
  StoreLE64(out + offsetof(ddl_footer, zero_bytes), f.zero_bytes);
  StoreLE64(out + offsetof(ddl_footer, payload_bytes), f.payload_bytes);
  StoreLE64(out + offsetof(ddl_footer, changed_chunks), f.changed_chunks);
  StoreLE64(out + offsetof(ddl_footer, header_csum), f.header_csum);
}

void EncodeFooter(const Footer& f, uint8_t out[DDL_FOOTER_SIZE]) {
  EncodeFooterPrefix(f, out);
  StoreLE64(out + offsetof(ddl_footer, file_csum), f.file_csum);
  StoreLE64(out + offsetof(ddl_footer, footer_csum), Xxh64(out, offsetof(ddl_footer, footer_csum)));
}

Status DecodeFooter(const uint8_t in[DDL_FOOTER_SIZE], Footer* f) {
  if (std::memcmp(in, DDL_FOOTER_MAGIC, DDL_MAGIC_LEN) != 0)
    return Truncated("no footer at the end: truncated or damaged");
  if (Xxh64(in, offsetof(ddl_footer, footer_csum)) != LoadLE64(in + offsetof(ddl_footer, footer_csum)))
    return Corruption("footer checksum mismatch");
  f->index_offset = LoadLE64(in + offsetof(ddl_footer, index_offset));
  f->index_blocks = LoadLE64(in + offsetof(ddl_footer, index_blocks));
  f->record_count = LoadLE64(in + offsetof(ddl_footer, record_count));
  f->end_offset = LoadLE64(in + offsetof(ddl_footer, end_offset));
  f->data_bytes = LoadLE64(in + offsetof(ddl_footer, data_bytes));
  f->zero_bytes = LoadLE64(in + offsetof(ddl_footer, zero_bytes));
  f->payload_bytes = LoadLE64(in + offsetof(ddl_footer, payload_bytes));
  f->changed_chunks = LoadLE64(in + offsetof(ddl_footer, changed_chunks));
  f->header_csum = LoadLE64(in + offsetof(ddl_footer, header_csum));
  f->file_csum = LoadLE64(in + offsetof(ddl_footer, file_csum));
  return Status::Ok();
}

uint64_t IndexBlocksFor(uint64_t records) { return (records + DDL_INDEX_PER_BLOCK - 1) / DDL_INDEX_PER_BLOCK; }

Status CheckFooterAgainst(const Header& h, const Footer& f, uint64_t file_size) {
  if (f.header_csum != h.header_csum) return Corruption("footer belongs to another header");
  if (f.index_blocks != IndexBlocksFor(f.record_count))
    return Corruption("footer: index block count does not match the record count");
  if (f.end_offset < DDL_HEADER_SIZE || f.index_offset != f.end_offset + DDL_RECORD_SIZE || f.end_offset > file_size ||
      f.index_blocks > (file_size / DDL_INDEX_BLOCK_SIZE) || f.index_offset > file_size)
    return Corruption("footer: offsets do not match the file size " + N(file_size));
  // Every DATA or ZERO record takes at least a record header between the
  // file header and the END record, and covers at least 512 volume bytes:
  // so a footer cannot claim more records than the file and volume hold.
  const uint64_t record_bytes = f.end_offset - DDL_HEADER_SIZE;
  if (f.record_count > record_bytes / DDL_RECORD_SIZE || f.record_count > h.volume_size / 512)
    return Corruption("footer: " + N(f.record_count) + " records cannot fit in " + N(record_bytes) +
                      " bytes of records for a volume of " + N(h.volume_size) + " bytes");
  const uint64_t expect = f.index_offset + f.index_blocks * DDL_INDEX_BLOCK_SIZE + DDL_FOOTER_SIZE;
  if (expect > file_size)
    return Truncated("truncated: the footer describes " + N(expect) + " bytes, the file has " + N(file_size));
  if (expect != file_size) return Corruption("footer: offsets do not match the file size " + N(file_size));
  if (f.data_bytes > h.volume_size || f.zero_bytes > h.volume_size)
    return Corruption("footer: byte counts exceed the volume size");
  return Status::Ok();
}

}  // namespace ddl
