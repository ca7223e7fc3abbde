// head_journal.h - the live head's journal (seg-<id>.jnl): which chunks the
// head segment holds, and the hash of each as of the last flush.
//
// Volume::Flush syncs the head's data, then appends one record per batch of
// chunks written since the previous flush and syncs the journal: a chunk is
// part of the head (reads come from the head file) only once its record is
// durable, so after a crash every flushed write reads back and unflushed
// ones read either their new content or the old, never a hole. Close
// appends a "clean" record; a journal that does not end clean belongs to a
// head that may hold writes newer than its hashes, so the volume rehashes
// the head's chunks on open (Volume::Open). The first invalid record ends
// the journal (a torn append); a writable open cuts it off.
// Appends use a buffer allocated at open. Not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deltafile/io.h"
#include "snapcore/volume_format.h"

namespace ddl::vol {

class HeadJournal {
 public:
  // Opens (creates, if writable and missing) the journal of head `segment`
  // and replays it into *entries (in append order; later ones win).
  static Result<std::unique_ptr<HeadJournal>> Open(Env* env, const std::string& path, const Uuid& volume,
                                                   uint64_t segment, uint64_t chunk_count, bool writable,
                                                   std::vector<JournalEntry>* entries, bool* clean);
  // Appends and syncs.
  Status Append(const JournalEntry* e, size_t n);
  Status MarkClean();
  // Ends a clean state before the head may be written again: a "clean"
  // record must never describe data changed after it.
  Status MarkOpen();
  // Replaces the journal with `entries` (temp file, sync, rename).
  Status Rewrite(const std::vector<JournalEntry>& entries);
  uint64_t size() const { return end_; }
  uint64_t ignored_bytes() const { return ignored_; }

 private:
  HeadJournal() = default;
  Status Put(JournalType t, const JournalEntry* e, size_t n);

  Env* env_ = nullptr;
  std::string path_;
  Uuid volume_;
  uint64_t segment_ = 0;
  std::unique_ptr<File> file_;
  uint64_t seq_ = 0;
  uint64_t end_ = 0;
  uint64_t ignored_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace ddl::vol
