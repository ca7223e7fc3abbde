// disk_source.h - what the FUSE server (fuse_disk.h) shows as its `disk`
// file: a fixed-size byte range that can be read, and maybe written and
// flushed. Adapters for a chain (+ COW overlay), a live volume and a
// snapshot of a volume. The adapters do not own what they wrap.
// Thread-safe when what they wrap is (all three are).
#pragma once

#include <cstdint>
#include <memory>

#include "attach/cow_overlay.h"
#include "deltafile/chain.h"
#include "deltafile/status.h"

namespace ddl::vol {
class Volume;
class SnapshotView;
}  // namespace ddl::vol

namespace ddl::attach {

class DiskSource {
 public:
  virtual ~DiskSource() = default;
  virtual uint64_t size() const = 0;
  virtual bool writable() const = 0;
  virtual Status Read(uint64_t off, void* buf, size_t n) = 0;
  // Only when writable(); n bytes at off, inside size().
  virtual Status Write(uint64_t off, const void* buf, size_t n) = 0;
  // Makes every completed write durable (FUSE fsync and flush).
  virtual Status Flush() = 0;
  // The server is going away: flush and release (the source is unusable after).
  virtual Status Close() = 0;
};

// A chain, read-only, or a COW overlay over it when cow is not null.
std::unique_ptr<DiskSource> ChainDisk(ChainReader* chain, CowOverlay* cow);
// The live volume, writable if it was opened writable; Flush is
// Volume::Flush, Close is Volume::Close.
std::unique_ptr<DiskSource> VolumeDisk(vol::Volume* v);
// A snapshot, read-only.
std::unique_ptr<DiskSource> SnapshotDisk(vol::SnapshotView* s);

}  // namespace ddl::attach
