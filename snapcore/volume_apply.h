// volume_apply.h - a deltafile applied to a volume's live head and sealed as
// a snapshot with the delta's target identity: how a replica (replica/)
// receives what its source published.
//
// Nothing is written until the delta fully verifies (deltafile/verify.h)
// and the volume is its base: the same volume UUID, size and chunk size; a
// clean head (HeadClean()); a parent whose fingerprint is the delta's base
// and the caller's `expect_base` (a seed: a volume with no snapshot over an
// all-zero origin); and, in the head, the base hash of every chunk the delta
// changes (O(changed) reads). Then every record goes through Volume::Write
// (zero records as written zeros), the head is flushed, and
// CreateSnapshot seals it with the target's UUID, checking its fingerprint.
// A crash or error after the first write leaves every snapshot intact and
// a dirty head: the caller reverts it to its parent (Volume::Revert to the
// newest snapshot, or "origin") and applies again.
// Memory: one record of the delta at a time, plus its index (32 bytes a
// record). The volume must be open writable and is used by this thread
// alone meanwhile (other readers are fine).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "deltafile/format.h"
#include "deltafile/io.h"
#include "snapcore/volume.h"

namespace ddl::vol {

struct VolumeApplyOptions {
  std::string name;                                             // the snapshot to seal; "": "snap-<id>"
  uint64_t create_ns = 0;                                       // 0: now
  std::function<void(uint64_t done, uint64_t total)> progress;  // bytes of the delta
};

struct VolumeApplyResult {
  SnapshotInfo snapshot;
  uint64_t chunks_written = 0;  // chunks the records touched
  uint64_t bytes_written = 0;   // data and zero bytes written into the head
};

// Refusals, with the volume untouched: the delta's own verification code
// (kCorruption, kTruncated, kUnsupported); kForeign for another volume
// UUID; kWrongBase for a base other than `expect_base` or the live content
// (its fingerprint: the parent's, or after a revert to an older snapshot
// that snapshot's), a seed onto a volume that has snapshots, a dirty head
// or a non-zero origin, or a changed chunk whose content is not the
// delta's base; kInvalidArgument for another size or chunk size or a
// pending revert; kInvalidArgument for a
// snapshot name in use and kExists for a target UUID the volume already has.
Status ApplyDeltaToVolume(Env* env, Volume* v, const std::string& delta, const Identity& expect_base,
                          const VolumeApplyOptions& o, VolumeApplyResult* r);

}  // namespace ddl::vol
