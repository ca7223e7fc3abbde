// volume_delta.h - a standard deltafile between two snapshots of a volume,
// in time proportional to the chunks changed between them.
//
// The indexes of the snapshots after `from` up to `to` are merged (one
// cursor per snapshot, one 4 KiB block each in memory): for every chunk in
// any of them, the oldest entry's old hash is its hash in `from` and the
// newest entry's segment holds its content in `to`. Chunks that changed
// and changed back are left out. The volume is not read except for those
// chunks, and the live head is never touched, so this runs while the
// volume is attached. Without `from` the result is a seed delta (every
// non-zero chunk of `to`: this one reads the whole snapshot).
#pragma once

#include <functional>
#include <string>

#include "deltafile/writer.h"

namespace ddl::vol {

struct VolumeDeltaOptions {
  std::string from;  // snapshot name, #id, UUID, "origin", or empty for a seed
  std::string to;
  int level = 3;
  int threads = 1;
  // The header's creation time; 0: the target snapshot's create_ns. So the
  // same two snapshots with the same options give the same bytes (a
  // publisher re-run after a crash regenerates what it uploaded before).
  uint64_t create_time_ns = 0;
  std::function<void(uint64_t done, uint64_t total)> progress;  // chunks
};

struct VolumeDeltaResult {
  Identity base;
  Identity target;
  WriteStats stats;
  uint64_t volume_size = 0;
  uint64_t snapshots_merged = 0;
};

// Writes the delta to `out` strictly front to back from offset 0 (it may be
// a pipe or a device); the caller syncs it, and renames it when a file.
Status WriteVolumeDelta(Env* env, const std::string& dir, const VolumeDeltaOptions& o, File* out, VolumeDeltaResult* r);

}  // namespace ddl::vol
