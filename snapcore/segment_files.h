// segment_files.h - the data files of a volume's segments, opened on demand
// and kept open (up to a bound), and reading a byte range whose chunks come
// from different files.
//
// Every data file of a volume (base, each segment, the head) keeps chunk c
// at byte offset c << chunk_shift, so a run of consecutive chunks that come
// from the same file is one contiguous read. Thread-safe.
#pragma once

#include <algorithm>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "deltafile/io.h"

namespace ddl::vol {

class SegmentFiles {
 public:
  SegmentFiles(Env* env, std::string dir, size_t max_open = 256)
      : env_(env), dir_(std::move(dir)), max_open_(max_open) {}
  // The data file of segment `id`, read-only.
  Result<std::shared_ptr<File>> Get(uint64_t id);
  // Forgets a segment (before its files are removed).
  void Drop(uint64_t id);

 private:
  Env* env_;
  std::string dir_;
  size_t max_open_;
  std::mutex mu_;
  std::list<uint64_t> lru_;  // most recent first
  std::map<uint64_t, std::pair<std::shared_ptr<File>, std::list<uint64_t>::iterator>> open_;
};

// The segment files of one read: a run of chunks from one segment takes
// the cache's lock once, not once per chunk. Used by one thread.
class SegmentFileMemo {
 public:
  explicit SegmentFileMemo(SegmentFiles* files) : files_(files) {}
  Result<std::shared_ptr<File>> Get(uint64_t id) {
    if (file_ && id == id_) return file_;
    DDL_ASSIGN_OR_RETURN(file_, files_->Get(id));
    id_ = id;
    return file_;
  }

 private:
  SegmentFiles* files_;
  uint64_t id_ = 0;
  std::shared_ptr<File> file_;
};

// Creates (replacing any) a sparse data file of `size` bytes and syncs it
// and its directory entry.
Status CreateDataFile(Env* env, const std::string& path, uint64_t size);
// Opens a data file read-write, creating it as above if it does not exist.
Result<std::unique_ptr<File>> OpenDataFile(Env* env, const std::string& path, uint64_t size);

// Reads [off, off+n) of a volume; source(c) -> Result<std::shared_ptr<File>>
// names the file holding chunk c (null: the chunk reads as zeros) and keeps
// it open while it is read. Consecutive chunks
// from one file are read together. A template so the read path does not
// allocate a std::function.
template <typename Source>
Status ReadByChunkSource(uint64_t off, void* buf, size_t n, uint32_t chunk_shift, Source&& source) {
  uint8_t* out = static_cast<uint8_t*>(buf);
  uint64_t end = off + n, pos = off;
  Result<std::shared_ptr<File>> cur = source(pos >> chunk_shift);
  while (pos < end) {
    if (!cur.ok()) return cur.status();
    std::shared_ptr<File> f = cur.value();
    uint64_t run_end = std::min(end, ((pos >> chunk_shift) + 1) << chunk_shift);
    while (run_end < end) {
      cur = source(run_end >> chunk_shift);
      if (!cur.ok() || cur.value() != f) break;
      run_end = std::min(end, ((run_end >> chunk_shift) + 1) << chunk_shift);
    }
    size_t len = size_t(run_end - pos);
    if (f == nullptr) {
      std::memset(out + (pos - off), 0, len);
    } else {
      size_t got = 0;
      DDL_RETURN_IF_ERROR(f->ReadAt(pos, out + (pos - off), len, &got));
      if (got < len) std::memset(out + (pos - off) + got, 0, len - got);  // past a sparse file's end
    }
    pos = run_end;
  }
  return Status::Ok();
}

}  // namespace ddl::vol
