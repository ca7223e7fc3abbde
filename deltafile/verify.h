// verify.h - full verification of a deltafile: structure (header, footer,
// index), every record checksum, the index against the records, the
// whole-file checksum, and that the records turn the base fingerprint into
// the target fingerprint. With a base image, also that the image is the
// delta's base (so applying it would produce the target).
#pragma once

#include <functional>

#include "deltafile/format.h"
#include "deltafile/io.h"

namespace ddl {

struct VerifyOptions {
  File* base = nullptr;  // optional base image
  int threads = 2;
  // Called with delta bytes checked so far.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct VerifyReport {
  Header header;
  Footer footer;
  uint64_t file_size = 0;
  bool base_checked = false;
};

// Returns Ok, or the first problem: kCorruption/kTruncated/kUnsupported for
// the file itself, kWrongBase when `base` is not the delta's base.
Status VerifyDelta(File* delta, const VerifyOptions& o, VerifyReport* report);

}  // namespace ddl
