// golden_volume.h - the golden ddloop volume of tests/golden/volume: the
// fixed sequence of operations that makes it (make-golden-volume runs it
// once into the source tree; golden_volume_test runs it again into a temp
// directory and compares every file byte for byte, so an encoder that drifts
// fails), and its EXPECTED file (the XXH64 of every snapshot's and the
// head's full content, from a model kept beside the volume, not read back).
// Not thread-safe (one build at a time per directory).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/io.h"

namespace ddl::test {

// One line of EXPECTED: a snapshot (oldest first) or the live head.
struct GoldenContent {
  std::string kind;    // "snapshot" or "head"
  std::string name;    // the snapshot's name; "-" for the head
  uint64_t xxh64 = 0;  // of the whole content, seed 0
};

// Makes the golden volume in `dir` (which must not exist or be empty) with
// deterministic UUIDs and times: 256 KiB, 4 KiB chunks; snapshots sun, mon,
// tue, wed, thu; tue deleted (merged into wed), sun deleted (folded into
// base); reverted to mon; snapshot fri; then head writes, flushed and closed
// cleanly, in no snapshot. Fills *expected from the model.
Status BuildGoldenVolume(Env* env, const std::string& dir, std::vector<GoldenContent>* expected);

// EXPECTED: '#' comment lines, then "kind<TAB>name<TAB>xxh64 (16 hex digits)".
std::string FormatGoldenExpected(const std::vector<GoldenContent>& c);
// False on a malformed line.
bool ParseGoldenExpected(const std::string& text, std::vector<GoldenContent>* out);

}  // namespace ddl::test
