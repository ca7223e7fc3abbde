// format.h - C++ views of the on-disk structs of deltafile_format.h, with
// their encoders and validating decoders. Every structural rule of
// deltafile(5) is checked here, so the stream reader, the random reader and
// the verifier agree on what a valid file is. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/deltafile_format.h"
#include "deltafile/hash.h"
#include "deltafile/status.h"

namespace ddl {

struct Identity {
  Uuid snapshot;
  Fingerprint fingerprint;
  bool operator==(const Identity& o) const { return snapshot == o.snapshot && fingerprint == o.fingerprint; }
  bool operator!=(const Identity& o) const { return !(*this == o); }
  std::string ToString() const;  // "snapshot-uuid/fingerprint-prefix"
};

struct Header {
  uint32_t version = DDL_VERSION;
  uint64_t incompat = 0;
  uint64_t compat = 0;
  Uuid volume_uuid;
  uint64_t volume_size = 0;
  uint32_t chunk_shift = 16;
  uint32_t frame_max = DDL_FRAME_MAX_LIMIT;
  uint32_t codec = DDL_CODEC_ZSTD;
  uint32_t flags = 0;
  uint64_t create_time_ns = 0;
  Identity base;
  Identity target;
  uint64_t header_csum = 0;  // set by Encode/Decode

  uint64_t chunk_size() const { return uint64_t(1) << chunk_shift; }
  uint64_t chunk_count() const { return (volume_size + chunk_size() - 1) >> chunk_shift; }
  bool seed() const { return (flags & DDL_HF_SEED) != 0; }
  // Length of chunk i (the last may be short).
  uint64_t chunk_len(uint64_t i) const;
};

// Fills out[512] and sets h->header_csum.
void EncodeHeader(Header* h, uint8_t out[DDL_HEADER_SIZE]);
// Validates magic, checksum, version, features and every field.
Status DecodeHeader(const uint8_t in[DDL_HEADER_SIZE], Header* h);
// Checks the fields of a header being written (same rules as Decode).
Status ValidateHeaderFields(const Header& h);

struct RecordHeader {
  uint16_t type = 0;
  uint16_t codec = DDL_CODEC_NONE;
  uint64_t seq = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t payload_size = 0;
  uint32_t nhash = 0;
  uint64_t data_csum = 0;

  uint64_t record_size() const { return DDL_RECORD_SIZE + uint64_t(DDL_HASH_SIZE) * nhash + payload_size; }
};

// hashes: nhash * 16 bytes.
void EncodeRecordHeader(const RecordHeader& r, const uint8_t* hashes, uint8_t out[DDL_RECORD_SIZE]);
// Checks magic and field ranges (not the checksum, which needs the hashes).
Status DecodeRecordHeader(const uint8_t in[DDL_RECORD_SIZE], RecordHeader* r);
bool RecordChecksumOk(const uint8_t in[DDL_RECORD_SIZE], const uint8_t* hashes, uint32_t nhash);

// Checks the ordering and coverage rules of deltafile(5) RECORDS, one record
// at a time in file order. Not thread-safe.
class RecordOrderChecker {
 public:
  // check_nhash = false when checking index entries, which carry no nhash.
  explicit RecordOrderChecker(const Header& h, bool check_nhash = true) : h_(h), check_nhash_(check_nhash) {}
  Status Check(const RecordHeader& r);  // a DATA or ZERO record
  Status CheckEnd(const RecordHeader& end);
  uint64_t count() const { return count_; }

 private:
  const Header& h_;
  const bool check_nhash_;
  uint64_t count_ = 0;
  uint64_t prev_end_ = 0;
  bool mid_chunk_ = false;  // the previous record ended inside a chunk
};

// In a seed every old-hash entry must be the zero marker.
Status CheckSeedHashes(const Header& h, const std::vector<ChunkHash>& old);

// Chunks whose first byte lies in [offset, offset+length): the count of a
// record's old-hash entries, and the first such chunk.
uint64_t FirstChunkStarting(uint64_t offset, uint32_t shift);
uint64_t ChunksStarting(uint64_t offset, uint64_t length, uint32_t shift);

struct IndexEntry {
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t file_offset = 0;
  uint32_t record_size = 0;
  uint16_t type = 0;
  uint16_t codec = 0;
  bool operator==(const IndexEntry& o) const;
};

void EncodeIndexEntry(const IndexEntry& e, uint8_t out[32]);
// count <= DDL_INDEX_PER_BLOCK entries.
void EncodeIndexBlock(uint64_t block_no, uint64_t file_offset, const IndexEntry* e, size_t count,
                      uint8_t out[DDL_INDEX_BLOCK_SIZE]);
// Appends the block's entries to *out after checking magic, checksum, identity.
Status DecodeIndexBlock(const uint8_t in[DDL_INDEX_BLOCK_SIZE], uint64_t block_no, uint64_t file_offset,
                        std::vector<IndexEntry>* out);

struct Footer {
  uint64_t index_offset = 0;
  uint64_t index_blocks = 0;
  uint64_t record_count = 0;
  uint64_t end_offset = 0;
  uint64_t data_bytes = 0;
  uint64_t zero_bytes = 0;
  uint64_t payload_bytes = 0;
  uint64_t changed_chunks = 0;
  uint64_t header_csum = 0;
  uint64_t file_csum = 0;
};

// Fills out[128]. file_csum must already be set: it covers the file from
// byte 512 through footer byte 111, so the caller finishes its running hash
// with the first 112 bytes of the encoding. Use EncodeFooterPrefix for those.
void EncodeFooterPrefix(const Footer& f, uint8_t out[DDL_FOOTER_SIZE]);
void EncodeFooter(const Footer& f, uint8_t out[DDL_FOOTER_SIZE]);
Status DecodeFooter(const uint8_t in[DDL_FOOTER_SIZE], Footer* f);
// Relations between header, footer and file size.
Status CheckFooterAgainst(const Header& h, const Footer& f, uint64_t file_size);

uint64_t IndexBlocksFor(uint64_t records);

}  // namespace ddl
