// repository.h - a remote repository of deltafiles: its layout, and push,
// pull, list and remove on top of a Transport (transport.h).
//
// Layout under the repository URL (ddloop-push(8), REPOSITORY LAYOUT):
//   deltas/NAME.CSUM       the deltafile NAME, CSUM = its xxh64 in hex
//   catalog/NAME.entry     one small text object per delta (CatalogEntry)
// A push uploads the deltafile first and writes its entry last, so a delta
// is listed only once all of it is stored; an entry is never rewritten in
// place by a push (a different delta under the same NAME is refused), so
// two writers never read-modify-write a shared object, and readers see an
// entry, complete, or nothing. A pull downloads into DIR/.NAME.CSUM.part
// (resumed with Range), checks the size and the xxh64 against the entry,
// fully verifies the deltafile, and only then renames it to DIR/NAME.
//
// The functions are not thread-safe with respect to one result vector but
// run their own transfers in parallel (RepoOptions::jobs).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/transport.h"

namespace ddl {

struct CatalogEntry {
  std::string name;      // what ls shows and rm takes
  std::string object;    // key of the deltafile: deltas/NAME.CSUM
  uint64_t size = 0;     // bytes
  std::string checksum;  // "xxh64:" + 16 hex digits of the whole file
  std::string volume_uuid;
  uint64_t volume_size = 0;
  bool seed = false;
  std::string base_snapshot, base_fingerprint;  // empty for a seed
  std::string target_snapshot, target_fingerprint;
  uint64_t created_ns = 0;

  std::string Encode() const;
  // `what` names the entry in errors.
  static Status Decode(const std::string& text, const std::string& what, CatalogEntry* e);
};

struct FileResult {
  std::string name;
  uint64_t size = 0;
  TransferStats stats;
  std::string status;  // "transferred", "skipped", "failed"
  Status error;
};

struct RepoOptions {
  int jobs = 1;    // deltafiles moved at once
  NetOptions net;  // its progress member is set per transfer; leave it empty
  // Bytes moved by this run over all files, and the total to move; called
  // from the transfer threads, one call at a time.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Pushes local deltafiles (each checked first) as their base names. One
// FileResult per file, in order; returns the first failure.
Status PushDeltas(Transport* t, const std::vector<std::string>& files, const RepoOptions& o,
                  std::vector<FileResult>* out);

// Pulls into `dir` every delta missing there, or with `after` (a name, a
// target snapshot UUID, a target fingerprint or its prefix of 8+ hex
// digits, or a local deltafile) only the deltas that chain after that
// identity. One FileResult per selected delta, in chain order.
Status PullDeltas(Transport* t, const std::string& dir, const std::string& after, const RepoOptions& o,
                  std::vector<FileResult>* out);

// Every delta in the repository, in chain order (seeds first, each
// followed by what chains after it; ties by name).
Result<std::vector<CatalogEntry>> ListDeltas(Transport* t);

// Removes deltas by name: the entry first (so it disappears at once), then
// the deltafile. kNotFound names the first missing one.
Status RemoveDeltas(Transport* t, const std::vector<std::string>& names);

}  // namespace ddl
