// snapshot_view.h - one snapshot of a volume (or its origin), read-only.
//
// Built from the index files of the snapshots up to and including it: for
// each chunk, the newest of those segments that holds it, else the base.
// Memory: one map entry per chunk changed since the origin. Reading never
// touches the live head, so a view may be used while the volume is attached
// (its files are immutable until the snapshot is deleted). Read() is
// thread-safe.
#pragma once

#include <memory>
#include <unordered_map>

#include "snapcore/segment_files.h"
#include "snapcore/segment_index.h"

namespace ddl::vol {

class SnapshotView {
 public:
  // position: index into st.snaps, or -1 for the origin (the base alone).
  static Result<std::unique_ptr<SnapshotView>> Open(Env* env, const std::string& dir, const VolumeState& st,
                                                    int position);
  Status Read(uint64_t off, void* buf, size_t n);
  uint64_t size() const { return size_; }
  Identity identity() const { return identity_; }
  // The segment holding chunk c in this snapshot; 0 for the base.
  uint64_t OwnerOf(uint64_t c) const;
  size_t changed_chunks() const { return owner_.size(); }

 private:
  SnapshotView(Env* env, const std::string& dir) : files_(env, dir) {}

  SegmentFiles files_;
  std::shared_ptr<File> base_;
  std::unordered_map<uint64_t, uint64_t> owner_;
  uint64_t size_ = 0;
  uint32_t chunk_shift_ = 12;
  Identity identity_;
};

}  // namespace ddl::vol
