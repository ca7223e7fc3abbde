// image_diff.h - make a deltafile from two images (files or block devices).
//
// Both images are read once, in segments, by `threads` workers; each worker
// compares its segment chunk by chunk, hashes every chunk for the two
// fingerprints, and encodes (compresses) the records of changed chunks. The
// calling thread appends the records in order. Memory is bounded by a few
// segments per worker. Without an old image the result is a seed delta.
#pragma once

#include <functional>

#include "deltafile/writer.h"

namespace ddl {

struct ImageDiffOptions {
  WriterOptions writer;  // volume_size is taken from the new image
  Uuid base_snapshot;    // nil: derived from content (deltafile(5))
  Uuid target_snapshot;  // nil: derived from content
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ImageDiffResult {
  Identity base;
  Identity target;
  WriteStats stats;
  uint64_t volume_size = 0;
};

// old_img may be null (seed). `out` is written from offset 0; the caller
// syncs and renames it into place.
Status CreateDeltaFromImages(File* old_img, File* new_img, File* out, const ImageDiffOptions& o,
                             ImageDiffResult* result);

}  // namespace ddl
