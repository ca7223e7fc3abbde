// repository_head.h - the repository's own objects beside its deltas
// (ddloop-repository(5)): the manifest that binds it to one volume lineage,
// HEAD (the snapshot a replica should be at), and the positions replicas
// report. Each is one small text record (deltafile/text_record.h) with a
// checksum line:
//   ddloop-repository      RepoManifest, created once (CreateSmall)
//   HEAD                   RepoHead, replaced whole (WriteSmall)
//   replicas/ID            ReplicaPosition, replaced whole by replica ID
//
// Writers keep this order, so a reader never sees a name before what it
// names: deltafile, then its catalog entry, then HEAD. HEAD's seq only
// grows; MoveHead is not a compare-and-swap, so one repository has one
// writer of HEAD at a time (the publisher; push moves it only forward).
//
// Plain functions over a Transport (thread-safe as it is); the structs are
// plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/transport.h"
#include "deltafile/format.h"

namespace ddl {

struct RepoManifest {
  int format = 1;
  Uuid volume;  // nil: not bound yet (an older ddloop's marker, or only unbound deltas so far)
  std::string name;
  uint64_t created_ns = 0;
};

// The manifest. An older ddloop's marker (the bare line "ddloop-repository
// 1") reads as format 1 with no volume and created_ns 0; a missing name is
// the last path component of the URL. kNotFound: "URL: is there a
// repository at URL? (no ddloop-repository)"; kCorruption when damaged;
// kUnsupported for a format above 1.
Result<RepoManifest> ReadManifest(Transport* t);

// Makes sure the repository is one of `volume`'s lineage: creates the
// manifest (CreateSmall; name "" is the URL's last path component) or
// checks it. An unbound manifest is bound to a non-nil `volume` once (the
// only rewrite, WriteSmall, then read back), unless the catalog already
// holds a delta of another volume. A manifest bound to another volume:
// Code::kForeign "URL: repository of volume X, not Y" (nil is shown as
// "unbound"). A nil `volume` fits only an unbound repository.
Status EnsureManifest(Transport* t, const Uuid& volume, const std::string& name);

struct RepoHead {
  uint64_t seq = 0;   // 1 for the first HEAD; only grows
  std::string entry;  // catalog entry name (catalog/ENTRY.entry)
  Identity target;    // that entry's target
  std::string snapshot_name;
  uint64_t updated_ns = 0;
};

// kNotFound if there is no HEAD; kCorruption (one line naming URL/HEAD) if
// it is damaged.
Result<RepoHead> ReadHead(Transport* t);

// Conditional read of HEAD (Transport::ReadSmallIfChanged): when it
// changed, *head is the new HEAD (decoded, or kCorruption); changed=false
// leaves *head untouched. The SmallRead's data is HEAD's text.
Result<SmallRead> ReadHeadIfChanged(Transport* t, const std::string& tag, RepoHead* head);

// Moves HEAD to entry `e`, which must be in the catalog already (read back
// from catalog/NAME.entry and compared: kNotFound / kInvalidArgument);
// seq = old seq + 1 (1 when none). A damaged HEAD is kCorruption and is
// not replaced (its seq is unknown). WriteSmall: readers see the old HEAD
// or the new one.
Status MoveHead(Transport* t, const CatalogEntry& e);

// Where a replica says it is, under replicas/ID.
struct ReplicaPosition {
  std::string id;  // [A-Za-z0-9._-]{1,64}, not starting with '.'
  Identity at;
  std::string snapshot_name;
  uint64_t updated_ns = 0;
  uint64_t expires_ns = 0;  // 0: never (leases come later)
};

// kInvalidArgument for a bad id or a name with a control character.
Status WriteReplicaPosition(Transport* t, const ReplicaPosition& p);

// Every readable position, sorted by id. Unreadable ones are skipped, and
// reported like catalog entries: *skipped (when given) is kCorruption
// naming the first and counting the others, else Ok. No replicas/ at all:
// an empty list.
Result<std::vector<ReplicaPosition>> ListReplicaPositions(Transport* t, Status* skipped = nullptr);

// How many deltas of `chain` (ListDeltas order) lead from `from` to
// `head`: 0 when they are the same identity, -1 when no path of catalog
// entries joins them.
int DeltasBehind(const std::vector<CatalogEntry>& chain, const Identity& from, const Identity& head);

}  // namespace ddl
