// segment_index.h - reading and writing a sealed segment's index file
// (seg-<id>-<gen>.idx, volume_format.h): the sorted chunks the segment
// holds with their hashes before and after it.
//
// Writers write a new generation under a temporary name, sync it, rename it
// into place and sync the directory; an index file is never modified. Every
// block is validated on read (checksum, volume, segment, generation, block
// number) and the entries must be strictly ascending and inside the volume.
// Not thread-safe; distinct objects may be used from distinct threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deltafile/io.h"
#include "snapcore/volume_format.h"

namespace ddl::vol {

struct IndexId {
  Uuid volume;
  uint64_t segment = 0;
  uint64_t gen = 0;
  uint64_t chunk_count = 0;  // entries must be below this
};

// Writes `entries` (strictly ascending) as index `id` at `path`.
Status WriteIndexFile(Env* env, const std::string& path, const IndexId& id, const std::vector<IndexEntry>& entries);

// Reads a whole index.
Result<std::vector<IndexEntry>> ReadIndexFile(Env* env, const std::string& path, const IndexId& id);

// Reads an index front to back, one 4 KiB block in memory at a time.
class IndexCursor {
 public:
  static Result<std::unique_ptr<IndexCursor>> Open(Env* env, const std::string& path, const IndexId& id);
  bool valid() const { return pos_ < block_.size(); }
  const IndexEntry& entry() const { return block_[pos_]; }
  // Moves to the next entry; at the end valid() turns false.
  Status Next();

 private:
  IndexCursor() = default;
  Status LoadBlock();

  std::unique_ptr<File> file_;
  IndexId id_;
  uint64_t blocks_ = 1;
  uint64_t next_block_ = 0;
  uint64_t last_chunk_ = 0;
  bool any_ = false;
  std::vector<IndexEntry> block_;
  size_t pos_ = 0;
};

}  // namespace ddl::vol
