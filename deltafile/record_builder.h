// record_builder.h - cuts a sequence of changed chunks into records, and
// encodes a record (compression + checksums). Both writers (the streaming
// DeltaWriter and the parallel image scanner) use these, so the record rules
// of deltafile(5) are implemented once.
#pragma once

#include <functional>
#include <vector>

#include "deltafile/codec.h"
#include "deltafile/format.h"

namespace ddl {

// A record before encoding: raw new bytes (DATA) and the base hashes of the
// chunks that start in it.
struct RawRecord {
  uint16_t type = DDL_REC_DATA;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::vector<uint8_t> data;  // DATA only, `length` bytes
  std::vector<ChunkHash> old;
};

// A record ready to append; seq is assigned by the writer.
struct EncodedRecord {
  RecordHeader h;
  std::vector<ChunkHash> old;
  std::vector<uint8_t> payload;
};

// Compresses (when it pays and c != nullptr) and checksums. Thread-safe given
// one Compressor per thread.
EncodedRecord EncodeRecord(RawRecord&& raw, Compressor* c);

// The Compressor of the calling thread for `level` (created on first use).
Compressor* ThreadCompressor(int level);

// Groups chunks, given in ascending order, into records: runs of adjacent
// chunks of one kind, DATA records up to frame_max bytes (a chunk larger than
// that is split), ZERO records up to DDL_MAX_RECORD_HASHES chunks. Not
// thread-safe.
class RecordCutter {
 public:
  using Emit = std::function<Status(RawRecord&&)>;
  RecordCutter(uint32_t chunk_shift, uint32_t frame_max, uint64_t volume_size, Emit emit)
      : shift_(chunk_shift), frame_max_(frame_max), volume_size_(volume_size), emit_(std::move(emit)) {}

  // Chunk `index` changed; its new bytes are data[0, chunk length), or it
  // became all zeros (zero == true, data ignored); old = its base hash.
  Status Add(uint64_t index, const uint8_t* data, bool zero, const ChunkHash& old);
  Status Flush();

 private:
  uint64_t ChunkLen(uint64_t index) const;

  const uint32_t shift_;
  const uint32_t frame_max_;
  const uint64_t volume_size_;
  Emit emit_;
  bool open_ = false;
  RawRecord cur_;
  uint64_t next_index_ = 0;
};

}  // namespace ddl
