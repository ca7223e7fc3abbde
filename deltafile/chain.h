// chain.h - a base image plus a chain of deltafiles, read as one volume.
//
// ChainReader takes the deltas in any order and puts them in chain order
// (chain_order.h: one volume, size and chunk size; each base is the previous
// target). It serves reads of the volume at the last delta's target: a
// merged extent map says, for every byte, which delta's record (or the base,
// or zeros) holds it, so a lookup costs O(log extents) whatever the chain
// length. Records are decoded and checked (header checksum, data checksum)
// on first use and kept in a bounded LRU cache; a record that fails its
// checks fails every read that touches it, never returning wrong data, and
// is logged once with the deltafile's name. Used by `ddloop mount`,
// `ddloop attach` and (CheckChangedChunksBase) `ddloop apply`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deltafile/reader.h"

namespace ddl {

// kWrongBase unless every chunk the delta changes has, in `img`, the base
// hash the delta records for it. O(changed) reads.
Status CheckChangedChunksBase(File* img, const RandomReader& delta);

struct ChainOptions {
  size_t cache_bytes = 16 << 20;  // decoded records kept in memory
  // Receives one line per damaged record, the first time it is read.
  std::function<void(const std::string& line)> log;
};

class ChainReader {
 public:
  // `base` may be null: then the first delta must be a seed. Files must
  // outlive the reader. The deltas may be given in any order (OrderChain,
  // chain_order.h). Checks the chain, the base size, and the base hashes of
  // the chunks the first delta changes.
  static Result<std::unique_ptr<ChainReader>> Open(File* base, const std::vector<File*>& deltas, const ChainOptions& o);
  ~ChainReader();

  uint64_t size() const { return size_; }
  const Header& target_header() const { return readers_.back()->header(); }
  size_t extents() const { return ext_.size(); }
  // The index in `deltas` (as given to Open) of each delta, in chain order.
  const std::vector<size_t>& order() const { return order_; }

  // Reads volume bytes [off, off+n) (clipped to the volume). Thread-safe.
  // kCorruption when a record touched by the range is damaged.
  Status Read(uint64_t off, void* buf, size_t n);

  struct CacheStats {
    uint64_t hits = 0, misses = 0, bytes = 0;
  };
  CacheStats cache_stats() const;

 private:
  struct Extent {
    uint64_t start, end;
    uint32_t delta, record;
  };
  class Cache;

  ChainReader() = default;
  Status ReadRecordData(uint32_t delta, uint32_t record, std::shared_ptr<const std::vector<uint8_t>>* out);

  File* base_ = nullptr;
  uint64_t base_size_ = 0;
  uint64_t size_ = 0;
  std::vector<std::unique_ptr<RandomReader>> readers_;  // in chain order
  std::vector<size_t> order_;
  std::vector<Extent> ext_;  // sorted, disjoint; gaps read from the base
  std::unique_ptr<Cache> cache_;
  ChainOptions opts_;
};

}  // namespace ddl
