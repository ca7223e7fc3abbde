// volume_check.h - a full consistency check of a volume directory
// (`ddloop volume check`), read-only, that reports every problem it finds
// instead of stopping at the first.
//
// Checked: the manifest replays; base has the volume's size and its
// content fingerprint is the origin's; every block of every index decodes
// (checksum, volume, segment, generation, block number) and the entries are
// ascending and inside the volume; for each snapshot in order, the recorded
// fingerprint equals the previous one + sum(new) - sum(old) over its
// entries, each entry's old hash is the chunk's hash in the previous
// snapshot (or in base), and each entry's new hash is the hash of the chunk
// in the segment's data file; the head journal's entries match the head's
// data. The volume must not be open for writing meanwhile (the journal of a
// head being written is not clean and is only noted). Memory: one map
// entry per chunk changed since the origin. Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "deltafile/io.h"

namespace ddl::vol {

struct CheckProblem {
  std::string file;     // the damaged file
  std::string message;  // what is wrong, one line
};

struct CheckReport {
  std::vector<CheckProblem> problems;  // damage
  std::vector<std::string> notes;      // not damage: an unclean head, a revert in progress, leftover files
  uint64_t snapshots = 0;
  uint64_t index_entries = 0;
  uint64_t chunks_read = 0;  // data chunks hashed (base, segments, head)
};

// Ok when no problem was found; Corruption ("DIR: N problems found") when
// some were; NotFound when `dir` is not a volume. progress(done, total) in
// chunks.
Status CheckVolume(Env* env, const std::string& dir, const std::function<void(uint64_t, uint64_t)>& progress,
                   CheckReport* r);

}  // namespace ddl::vol
