// status.h - `ddloop replica status R` and `ddloop replica list R`: what a
// replica holds, where it stands against its upstream, and what is in
// flight. Reads only: no lock is taken (a sync may be running; its lock
// tells that it is).
#pragma once

#include <string>
#include <vector>

#include "backup/repository_head.h"
#include "replica/replica_dir.h"
#include "replica/sync.h"
#include "snapcore/volume_format.h"

namespace ddl::replica {

struct ReplicaStatus {
  ReplicaConfig config;
  ReplicaState state;
  std::vector<vol::SnapshotInfo> snapshots;  // oldest first; empty before the first sync
  bool busy = false;                         // a sync, revert or init holds R/lock now
  bool upstream_asked = false;
  Status upstream;  // why the upstream could not be asked
  RepoHead head;
  int lag = -1;  // deltas between the newest snapshot and HEAD; -1 unknown or a reseed
};

// `open` empty: the upstream is not asked (list).
Status ReadReplicaStatus(const std::string& r, const OpenTransportFn& open, ReplicaStatus* out);

// `ddloop replica revert R SNAP`: the replica's newest state becomes SNAP:
// the live volume reverts to it and the snapshots after it are deleted
// (their deltas stay upstream: the next sync brings them back unless the
// upstream went elsewhere). Under R/lock. The names deleted are returned.
Status RevertReplica(const std::string& r, const std::string& snap, std::vector<std::string>* deleted);

}  // namespace ddl::replica
