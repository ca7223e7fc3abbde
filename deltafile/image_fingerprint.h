// image_fingerprint.h - the fingerprint of a whole image (deltafile(5),
// FINGERPRINT), read once with `threads` threads. Used to check that an
// image is a delta's base before anything is written to it.
#pragma once

#include <functional>

#include "deltafile/hash.h"
#include "deltafile/io.h"

namespace ddl {

struct ScanOptions {
  int threads = 2;
  // Called from the calling thread with bytes scanned so far.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Fingerprint of the first `volume_size` bytes of `f` in chunks of
// 1 << chunk_shift. Bytes past the end of a shorter file count as zeros.
Result<Fingerprint> ImageFingerprint(File* f, uint32_t chunk_shift, uint64_t volume_size, const ScanOptions& o);

}  // namespace ddl
