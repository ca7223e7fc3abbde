// writer.h - writes a deltafile.
//
// Records go out as they are added (bounded memory: a few records per
// thread in flight, plus 32 bytes of index per record). By default the
// header, whose identities are often known only at the end, is written last
// at offset 0, so the output must be a seekable File. With
// WriterOptions::header_first the identities are given up front and every
// byte is written once, strictly front to back (WriteAt at ascending,
// contiguous offsets; no Size, Truncate or seek back), so the File may be a
// pipe, a FIFO or a device. Compression runs on `threads` worker threads. A
// DeltaWriter is used from one thread.
//
// Typical use:
//   auto w = DeltaWriter::Create(file, opts);
//   for each changed chunk: w->AddChunk(index, data, old_hash);
//   w->Finish(base_identity, target_identity);
#pragma once

#include <memory>
#include <vector>

#include "deltafile/io.h"
#include "deltafile/ordered_pool.h"
#include "deltafile/record_builder.h"

namespace ddl {

struct WriterOptions {
  Uuid volume_uuid;           // nil: unbound lineage
  uint64_t volume_size = 0;   // multiple of 512
  uint32_t chunk_shift = 12;  // 4 KiB: see ddloop-create(8) for why
  uint32_t frame_max = DDL_FRAME_MAX_LIMIT;
  int level = 3;    // zstd level; 0 stores records raw
  int threads = 1;  // compression threads; 0 compresses inline
  bool seed = false;
  uint64_t create_time_ns = 0;  // 0: now
  // Write the header first, with these identities (base is ignored for a
  // seed), and everything else front to back; Finish then fails unless it
  // is given the same identities (the input changed while being read).
  bool header_first = false;
  Identity base;
  Identity target;
};

struct WriteStats {
  uint64_t records = 0;
  uint64_t data_records = 0;
  uint64_t zero_records = 0;
  uint64_t data_bytes = 0;
  uint64_t zero_bytes = 0;
  uint64_t payload_bytes = 0;
  uint64_t changed_chunks = 0;
  uint64_t file_size = 0;
};

class DeltaWriter {
 public:
  // `out` is written from offset 0 and must outlive the writer.
  static Result<std::unique_ptr<DeltaWriter>> Create(File* out, const WriterOptions& o);
  ~DeltaWriter();

  // Chunk `index` (ascending) changed to data[0, chunk length); old_hash is
  // its hash in the base. Copies data. An all-zero chunk becomes a ZERO record.
  Status AddChunk(uint64_t index, const uint8_t* data, const ChunkHash& old_hash);
  // Appends a record encoded elsewhere (ascending offsets). Do not mix with
  // AddChunk without Flush() between.
  Status Append(EncodedRecord&& r);
  // Waits for AddChunk's pending records.
  Status Flush();
  // Writes END, index, footer, then (unless header_first) the header.
  // Does not sync.
  Status Finish(const Identity& base, const Identity& target);

  const WriteStats& stats() const { return stats_; }
  const Header& header() const { return h_; }

 private:
  DeltaWriter(File* out, const WriterOptions& o);
  Status Write(const void* p, size_t n);  // buffered, hashed, at pos_
  Status FlushBuffer();

  File* out_;
  WriterOptions opts_;
  Header h_;
  std::unique_ptr<RecordOrderChecker> order_;
  std::unique_ptr<RecordCutter> cutter_;
  std::unique_ptr<OrderedPool<EncodedRecord>> pool_;
  std::vector<IndexEntry> index_;
  Xxh64Stream file_hash_;
  std::vector<uint8_t> buf_;
  uint64_t buf_start_ = DDL_HEADER_SIZE;
  uint64_t pos_ = DDL_HEADER_SIZE;
  WriteStats stats_;
  bool finished_ = false;
};

}  // namespace ddl
