// reader.h - reading deltafiles: front to back from a Stream (a pipe, a
// tape; no seek), or at random through the index of a File.
//
// Both readers verify what they return: a record's header checksum, the
// ordering rules, and the data checksum after decompression. Neither ever
// returns unverified bytes.
#pragma once

#include <memory>
#include <vector>

#include "deltafile/codec.h"
#include "deltafile/format.h"
#include "deltafile/io.h"

namespace ddl {

class NewHashTracker;

// One record as read: its header, the base hashes of the chunks starting in
// it, and (DATA) its raw bytes.
struct Record {
  RecordHeader h;
  uint64_t file_offset = 0;
  std::vector<ChunkHash> old;
  std::vector<uint8_t> data;
};

// Reads a deltafile front to back. Memory is bounded by one record. Not
// thread-safe.
class StreamReader {
 public:
  explicit StreamReader(Stream* in) : in_(in) {}

  Status ReadHeader();
  const Header& header() const { return h_; }
  // Reads the next record into *r. At the END record sets *more = false;
  // then call Finish().
  Status Next(Record* r, bool* more);
  // Reads and checks the index and footer, the file checksum, that nothing
  // follows, and that the records turn the base fingerprint into the
  // target's (deltafile(5), STREAMING step 6).
  Status Finish();
  const Footer& footer() const { return f_; }
  uint64_t position() const { return pos_; }

 private:
  Status ReadFull(void* p, size_t n, bool hash);
  Status Fail(const Status& s);
  void Account(const Record& r);

  Stream* in_;
  Header h_;
  Footer f_;
  std::unique_ptr<RecordOrderChecker> order_;
  Decompressor dz_;
  std::vector<uint8_t> payload_;
  Xxh64Stream file_hash_;
  Xxh64Stream index_expected_;
  Fingerprint fp_;  // base, minus the old chunks, plus the new ones
  Footer totals_;   // data/zero/payload bytes and changed chunks seen
  std::unique_ptr<NewHashTracker> tracker_;
  uint64_t pos_ = 0;
  uint64_t end_offset_ = 0;
  Status status_;
  bool header_done_ = false;
  bool records_done_ = false;
};

// Random access through the index. After Open, ReadRecord may be called
// from many threads at once, each with its own Decompressor.
class RandomReader {
 public:
  // Reads and checks header, footer and the whole index. `f` must outlive
  // the reader.
  static Result<std::unique_ptr<RandomReader>> Open(File* f);

  const Header& header() const { return h_; }
  const Footer& footer() const { return f_; }
  const std::vector<IndexEntry>& entries() const { return index_; }
  File* file() const { return file_; }

  // The first entry whose range ends after `offset` (entries().size() if
  // none): O(log n).
  size_t Find(uint64_t offset) const;
  // Reads, checks and decodes record i.
  Status ReadRecord(size_t i, Record* r, Decompressor* dz) const;
  // Reads only record i's header and old-hash table (checked).
  Status ReadRecordHashes(size_t i, std::vector<ChunkHash>* old) const;
  // Checks the whole-file checksum (one sequential read, no decoding).
  Status CheckFileChecksum() const;

 private:
  File* file_ = nullptr;
  Header h_;
  Footer f_;
  std::vector<IndexEntry> index_;
};

// Reads and checks the record body that follows a decoded record header:
// hash table, header checksum, payload, decompression, data checksum. `at`
// names the record in errors.
Status DecodeRecordBody(const uint8_t hdr[DDL_RECORD_SIZE], const RecordHeader& rh, const uint8_t* body,
                        Decompressor* dz, Record* r);

// Computes H_new for every chunk a sequence of records changes (records fed
// in file order), so a verifier or an applier can update a fingerprint.
class NewHashTracker {
 public:
  NewHashTracker(uint32_t chunk_shift, uint64_t volume_size) : shift_(chunk_shift), volume_size_(volume_size) {}
  // Calls fn(chunk_index, new_hash) for each chunk the record completes.
  template <typename Fn>
  void Feed(const Record& r, Fn fn);

 private:
  uint64_t ChunkEnd(uint64_t index) const {
    uint64_t e = (index + 1) << shift_;
    return e > volume_size_ ? volume_size_ : e;
  }
  const uint32_t shift_;
  const uint64_t volume_size_;
  ChunkHashStream partial_;
};

template <typename Fn>
void NewHashTracker::Feed(const Record& r, Fn fn) {
  const uint64_t end = r.h.offset + r.h.length;
  uint64_t pos = r.h.offset;
  while (pos < end) {
    const uint64_t idx = pos >> shift_;
    const uint64_t cstart = idx << shift_;
    const uint64_t cend = ChunkEnd(idx);
    const uint64_t piece_end = end < cend ? end : cend;
    if (r.h.type == DDL_REC_ZERO) {
      fn(idx, ChunkHash());
    } else {
      const uint8_t* p = r.data.data() + (pos - r.h.offset);
      if (pos == cstart && piece_end == cend) {
        fn(idx, HashChunk(p, cend - cstart));
      } else {
        if (pos == cstart) partial_.Reset();
        partial_.Update(p, piece_end - pos);
        if (piece_end == cend) fn(idx, partial_.Final());
      }
    }
    pos = piece_end;
  }
}

}  // namespace ddl
