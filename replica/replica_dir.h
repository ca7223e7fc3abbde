// replica_dir.h - a replica directory R on disk: its layout, its config and
// state files, and its lock (replica/DESIGN.md, ddloop-replica(8)).
//
//   R/config     what the replica is: upstream URL, forwards, id, volume UUID
//                (written by init; text record "ddloop-replica-config 1")
//   R/state      what the last sync saw: position, upstream HEAD tag, per
//                forward positions, last success, last error, the phase in
//                flight ("ddloop-replica-sync-state 1"). A cache: damaged or
//                stale, it is rebuilt from the volume (DESIGN.md invariant 3)
//   R/lock       flock'd by every command that changes R (kBusy, exit 9)
//   R/volume/    the ddloop volume holding every snapshot received
//   R/incoming/  deltafiles pulled and verified, not yet sealed
// Both text files are replaced atomically (deltafile/replace_file.h).
// Plain functions and values; the lock object is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deltafile/format.h"
#include "deltafile/io.h"

namespace ddl::replica {

struct ReplicaConfig {
  std::string upstream;               // repository URL (no credentials)
  std::vector<std::string> forwards;  // repository URLs this replica publishes to
  std::string id;                     // its name upstream (replicas/ID), [A-Za-z0-9._-]{1,64}
  Uuid volume;                        // the lineage
  uint64_t created_ns = 0;
};

struct ForwardPosition {
  std::string url;
  Identity at;  // the newest snapshot that repository's HEAD names
  std::string snapshot_name;
  uint64_t updated_ns = 0;
};

struct ReplicaState {
  uint64_t last_success_ns = 0;
  uint64_t last_attempt_ns = 0;
  std::string last_error;  // one line; "" after a success
  std::string phase;       // "" idle, else "pull", "apply", "forward" (with pid)
  std::string head_tag;    // the upstream HEAD's ETag (or file:// stamp) when last read
  uint64_t head_seq = 0;
  Identity head;  // the upstream HEAD's target then
  std::string head_name;
  std::vector<ForwardPosition> forwards;
};

std::string ConfigPath(const std::string& r);
std::string StatePath(const std::string& r);
std::string LockPath(const std::string& r);
std::string VolumePath(const std::string& r);
std::string IncomingPath(const std::string& r);

// A replica id as given (--id), or kInvalidArgument naming it.
Status CheckReplicaId(const std::string& id);

// R/volume made for the chain a seed with header `h` starts: its volume
// UUID, size and chunk size, all zeros.
Status CreateReplicaVolume(Env* env, const std::string& r, const Header& h);

Status SaveConfig(Env* env, const std::string& r, const ReplicaConfig& c);
// kNotFound "R: not a replica directory (no R/config)" when absent.
Result<ReplicaConfig> LoadConfig(Env* env, const std::string& r);

Status SaveState(Env* env, const std::string& r, const ReplicaState& s);
// The state, or an empty one when it is missing or damaged (then `note`
// says so): a sync never wedges on it.
ReplicaState LoadState(Env* env, const std::string& r, const std::function<void(const std::string&)>& note);

// R/lock held exclusively for the object's life; kBusy "R: in use (another
// sync, revert or init holds R/lock)" when taken.
class ReplicaLock {
 public:
  static Result<std::unique_ptr<ReplicaLock>> Acquire(Env* env, const std::string& r);

 private:
  explicit ReplicaLock(std::unique_ptr<LockedFile> f) : f_(std::move(f)) {}
  std::unique_ptr<LockedFile> f_;
};

}  // namespace ddl::replica
