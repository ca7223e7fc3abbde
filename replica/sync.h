// sync.h - `ddloop replica sync R`: bring a replica to its upstream's HEAD
// and forward what it sealed (replica/DESIGN.md has the invariants).
//
// One attempt (SyncOnce), under R/lock and the volume's lock:
//  1. A dirty live head (an apply killed before its seal) is discarded: the
//     volume reverts to its newest snapshot (or its origin).
//  2. HEAD is read conditionally (its tag from R/state): unchanged, and the
//     replica and its forwards at it, is one small request and the end.
//  3. The plan (chain_plan.h): up to date, a path from the newest snapshot,
//     or from an older one the replica goes back to first (the source
//     reverted, or the base was pruned), or kNeedsReseed with nothing done.
//  4. The path's deltas are pulled into R/incoming (verified, resumable),
//     then each is applied into the live head and sealed as a snapshot with
//     the source's UUID, name and fingerprint (snapcore/volume_apply.h).
//  5. Each forward gets, by PublishVolume (publish.h), every sealed snapshot
//     it lacks: deltas regenerated from the replica's own snapshots, so only
//     sealed content can ever leave, no spool has to survive a crash, and a
//     forward that was away is served from whatever snapshot it holds.
//  6. R/state, and the replica's position upstream (replicas/ID, best
//     effort: a read-only credential may not write it).
// Faults: network errors, 5xx and stalls are Code::kRemote and retried by
// the caller (SyncWithRetry) with backoff; only a lineage fact is
// kNeedsReseed; anything else fails the attempt with the replica unchanged
// past its last sealed snapshot.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/transport.h"
#include "deltafile/format.h"
#include "replica/publish.h"

namespace ddl::replica {

using OpenTransportFn = std::function<Result<std::unique_ptr<Transport>>(const std::string& url)>;

struct SyncOptions {
  OpenTransportFn open;
  RepoOptions repo;
  int level = 3;    // forwarded deltas
  int threads = 1;  // their compression
  bool forward = true;
  std::function<void(const std::string&)> note;
  // Progress of the delta being applied: its name, bytes, total.
  std::function<void(const std::string&, uint64_t, uint64_t)> apply_progress;
};

struct SyncedSnapshot {
  std::string name;
  Identity id;
  std::string delta;
};

struct ForwardResult {
  std::string url;
  Status status;
  int published = 0;
  Identity at;
};

struct SyncReport {
  bool not_modified = false;  // HEAD unchanged since the last sync: nothing listed
  bool up_to_date = false;
  bool discarded_head = false;  // an interrupted apply was thrown away
  std::string reverted_to;      // the snapshot gone back to first, if any
  std::vector<SyncedSnapshot> applied;
  std::vector<ForwardResult> forwards;
  RepoHead head;
  Identity at;  // the replica's newest snapshot afterwards
  std::string at_name;
};

Status SyncOnce(const std::string& r, const SyncOptions& o, SyncReport* rep);

// SyncOnce, retrying kRemote (and kIOError from a transfer) up to `attempts`
// times with exponential backoff from 1 s up to 60 s; `sleep` waits (and
// returns false to stop: a signal).
Status SyncWithRetry(const std::string& r, const SyncOptions& o, int attempts,
                     const std::function<bool(double seconds)>& sleep, SyncReport* rep);

}  // namespace ddl::replica
