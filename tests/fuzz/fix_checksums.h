// fix_checksums.h - for the fuzz targets: rewrites every checksum of a
// mutated deltafile (header, records, raw data, index blocks, footer, the
// whole file) so that mutations reach the field checks and the ordering,
// index and footer rules behind them, which libFuzzer could otherwise only
// reach by guessing a 64-bit hash. Fields are left as mutated; only the
// checksums (and the footer's copy of the header checksum) change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "deltafile/deltafile_format.h"
#include "deltafile/endian.h"
#include "deltafile/hash.h"

namespace ddl::fuzz {

// Returns true if anything was changed.
inline bool FixChecksums(std::vector<uint8_t>* file) {
  std::vector<uint8_t>& b = *file;
  const std::vector<uint8_t> before = b;
  const size_t n = b.size();
  if (n < DDL_HEADER_SIZE || std::memcmp(b.data(), DDL_MAGIC, DDL_MAGIC_LEN) != 0) return false;
  const uint64_t hcsum = Xxh64(b.data(), offsetof(ddl_header, header_csum));
  StoreLE64(b.data() + offsetof(ddl_header, header_csum), hcsum);
  // Records, front to back, until END or something that is not a record.
  size_t pos = DDL_HEADER_SIZE;
  while (pos + DDL_RECORD_SIZE <= n && LoadLE32(b.data() + pos) == DDL_RECORD_MAGIC) {
    uint8_t* r = b.data() + pos;
    const uint64_t nhash = LoadLE32(r + offsetof(ddl_record, nhash));
    const uint64_t payload = LoadLE32(r + offsetof(ddl_record, payload_size));
    const uint64_t body = nhash * DDL_HASH_SIZE + payload;
    if (body > n - pos - DDL_RECORD_SIZE) break;
    const uint8_t* p = r + DDL_RECORD_SIZE + nhash * DDL_HASH_SIZE;
    if (LoadLE16(r + offsetof(ddl_record, type)) == DDL_REC_DATA &&
        LoadLE16(r + offsetof(ddl_record, codec)) == DDL_CODEC_NONE)
      StoreLE64(r + offsetof(ddl_record, data_csum), Xxh64(p, payload));
    Xxh64Stream x;
    x.Update(r, offsetof(ddl_record, header_csum));
    x.Update(r + DDL_RECORD_SIZE, nhash * DDL_HASH_SIZE);
    StoreLE64(r + offsetof(ddl_record, header_csum), x.Digest());
    const bool end = LoadLE16(r + offsetof(ddl_record, type)) == DDL_REC_END;
    pos += DDL_RECORD_SIZE + body;
    if (end) break;
  }
  // Index blocks, then the footer in the last 128 bytes.
  while (pos + DDL_INDEX_BLOCK_SIZE + DDL_FOOTER_SIZE <= n && LoadLE32(b.data() + pos) == DDL_INDEX_MAGIC) {
    StoreLE64(b.data() + pos + offsetof(ddl_index_block, csum), Xxh64(b.data() + pos, offsetof(ddl_index_block, csum)));
    pos += DDL_INDEX_BLOCK_SIZE;
  }
  if (n >= DDL_HEADER_SIZE + DDL_FOOTER_SIZE) {
    uint8_t* f = b.data() + n - DDL_FOOTER_SIZE;
    if (std::memcmp(f, DDL_FOOTER_MAGIC, DDL_MAGIC_LEN) == 0) {
      StoreLE64(f + offsetof(ddl_footer, header_csum), hcsum);
      const size_t covered = n - DDL_FOOTER_SIZE + offsetof(ddl_footer, file_csum) - DDL_HEADER_SIZE;
      StoreLE64(f + offsetof(ddl_footer, file_csum), Xxh64(b.data() + DDL_HEADER_SIZE, covered));
      StoreLE64(f + offsetof(ddl_footer, footer_csum), Xxh64(f, offsetof(ddl_footer, footer_csum)));
    }
  }
  return b != before;
}

}  // namespace ddl::fuzz
