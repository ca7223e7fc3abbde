// publish.h - `ddloop publish VOL URL` and a replica's forwarding: every
// sealed snapshot of a volume that a repository does not have yet goes up as
// a delta from the previous one (a seed of the oldest when the repository
// is empty), in order, each followed by a move of HEAD.
//
// Where it starts: the newest snapshot (up to `upto`) whose fingerprint is
// HEAD's target; else the newest one that is any catalog entry's target
// (the repository went another way, e.g. the source reverted: HEAD then
// moves sideways to the new line); else, with an empty repository, a seed.
// A repository holding deltas but none of this volume's snapshots is
// kBrokenChain: nothing is uploaded.
//
// Crash safety and idempotence: the deltas are generated from sealed
// snapshots only (never the live head), byte for byte the same on every run
// (snapcore/volume_delta.h: the time in the header is the snapshot's), under
// a stable name (SNAPSHOT-NAME-UUID8.ddl), and a delta already in the
// catalog with the same base and target is not generated again. push(8)'s
// order (deltafile, then its entry) and HEAD last mean a reader never sees
// HEAD name an incomplete chain; killed anywhere, the next run uploads what
// is missing (resuming an S3 multipart upload) and ends in the same state.
// One publisher per volume and repository at a time: `lock_path`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/repository_head.h"
#include "deltafile/format.h"

namespace ddl::replica {

struct PublishOptions {
  std::string upto;       // snapshot key (name, #id, UUID); "" the newest
  std::string work_dir;   // where deltafiles are generated (a private subdirectory is made)
  std::string lock_path;  // held exclusively for the run; "" none (the caller holds one)
  std::string repo_name;  // the repository manifest's name when it is created
  int level = 3;
  int threads = 1;
  RepoOptions repo;
  std::function<void(const std::string&)> note;
};

struct PublishedDelta {
  std::string entry;  // catalog name
  std::string snapshot_name;
  Identity target;
  bool seed = false;
  uint64_t size = 0;
  bool uploaded = false;  // false: already in the catalog (an earlier, interrupted run)
  TransferStats stats;
};

struct PublishReport {
  std::vector<PublishedDelta> deltas;
  RepoHead head;  // after the run
  bool moved_sideways = false;
};

Status PublishVolume(const std::string& vol_dir, Transport* t, const PublishOptions& o, PublishReport* r);

// The catalog name a snapshot is published under.
std::string PublishedName(const std::string& snapshot_name, const Uuid& snapshot);

}  // namespace ddl::replica
