// repository.h - a remote repository of deltafiles: its layout, and push,
// pull, list and remove on top of a Transport (transport.h).
//
// Layout under the repository URL (ddloop-repository(5)):
//   ddloop-repository      the manifest (repository_head.h), written by the
//                          first push: a repository with no deltas still
//                          exists, bound to one volume lineage
//   deltas/NAME.CSUM       the deltafile NAME, CSUM = its xxh64 in hex
//   catalog/NAME.entry     one small text object per delta (CatalogEntry)
//   HEAD, replicas/ID      repository_head.h
// A push uploads the deltafile first and creates its entry last, so a delta
// is listed only once all of it is stored. The entry is created with
// Transport::CreateSmall, which fails when the name is taken: of two pushes
// of different deltas under one NAME exactly one wins, the other is told
// (and removes the object it uploaded). Readers see an entry, complete, or
// nothing. A pull downloads into a PartFile (part_file.h: DIR/.NAME.CSUM.part,
// locked, resumed with Range), never past the entry's size, checks the size
// and the xxh64 against the entry, fully verifies the deltafile, and only
// then renames it to DIR/NAME.
//
// A URL with neither the manifest nor any catalog entry is not a repository
// (kNotFound, ReadManifest's message), so a mistyped path is not mistaken
// for an empty one. A push of another volume's delta is refused
// (Code::kForeign, EnsureManifest) before anything is uploaded. A
// catalog entry that cannot be read is reported and skipped: the rest is
// listed or pulled, and the run fails with kCorruption.
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
  // The target snapshot's name ("tuesday") and when the source took it;
  // written only when set. Readers ignore keys they do not know.
  std::string target_name;
  uint64_t target_created_ns = 0;
  // The catalog entry whose target is this entry's base, when the writer
  // knew it (publish does): lets a reader walk back from HEAD by name, one
  // small read per step, instead of listing the catalog. A hint: checked
  // against base_snapshot/base_fingerprint by whoever follows it.
  std::string base_entry;

  // The entry's text (deltafile/text_record.h); `what` names the entry in
  // errors (a name with a control character cannot be written).
  Result<std::string> Encode(const std::string& what) const;
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
  // Push: the name and creation time (ns) of the snapshot a local
  // deltafile leads to, for its catalog entry; optional ("" and 0: none).
  std::function<std::string(const std::string& file)> snapshot_name;
  std::function<uint64_t(const std::string& file)> snapshot_time;
  std::function<std::string(const std::string& file)> base_entry;  // CatalogEntry::base_entry
};

// Ok when `name` may name a delta (letters, digits, '.', '_', '-', '+', not
// starting with '.', at most 200 bytes); else kInvalidArgument naming `what`.
Status CheckDeltaName(const std::string& name, const std::string& what);

// The catalog entry of delta `name` (catalog/NAME.entry), decoded: one
// small read. kNotFound when there is none.
Result<CatalogEntry> ReadCatalogEntry(Transport* t, const std::string& name);

// Pushes local deltafiles (each checked first) as their base names. One
// FileResult per file, in order; returns the first failure. All must be of
// one volume, the repository's (EnsureManifest), or nothing is uploaded
// (kForeign). When the pushed deltas continue HEAD (the first's base is
// HEAD's target; with no HEAD, a pushed seed), HEAD moves to the last of
// that chain (MoveHead); push never moves HEAD back or sideways.
Status PushDeltas(Transport* t, const std::vector<std::string>& files, const RepoOptions& o,
                  std::vector<FileResult>* out);

// Pulls into `dir` every delta missing there, or with `after` (a name, a
// target snapshot UUID, a target fingerprint or its prefix of 8+ hex
// digits, or a local deltafile) only the deltas that chain after that
// identity. One FileResult per selected delta, in chain order. Returns the
// first failure, else Listing::skipped.
Status PullDeltas(Transport* t, const std::string& dir, const std::string& after, const RepoOptions& o,
                  std::vector<FileResult>* out);

// Pulls exactly `want` (entries of ListDeltas) into `dir` (which must
// exist), each verified against its entry as PullDeltas does. One
// FileResult per entry, in order; returns the first failure.
Status PullEntries(Transport* t, const std::string& dir, const std::vector<CatalogEntry>& want, const RepoOptions& o,
                   std::vector<FileResult>* out);

struct Listing {
  std::vector<CatalogEntry> entries;  // in chain order
  // Not Ok when some entries were unreadable and skipped: kCorruption
  // naming the first and counting the others.
  Status skipped;
};

// Every readable delta in the repository, in chain order (seeds first,
// each followed by what chains after it; ties by name).
Result<Listing> ListDeltas(Transport* t);

// Removes deltas by name: the entry first (so it disappears at once), then
// the deltafile. kNotFound names the first missing one.
Status RemoveDeltas(Transport* t, const std::vector<std::string>& names);

}  // namespace ddl
