// volume_manifest.h - the volume's manifest: a checkpoint of the whole
// VolumeState followed by an append-only log of edits (volume_format.h).
//
// Each edit is one record written at the end of the file and synced before
// Append returns: that sync is the commit point of every volume operation.
// A crash can only leave the last record torn; Open recognises a torn tail
// (a record that runs past the end of the file or fails its checksum with
// nothing after it) and, when writable, cuts it off. A bad record with valid
// bytes after it is damage, not a torn write, and Open refuses. When the log
// grows past 1 MiB and 8x its checkpoint, it is rewritten as a single
// checkpoint (temp file, sync, rename, sync directory). Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "deltafile/io.h"
#include "snapcore/volume_format.h"

namespace ddl::vol {

class Manifest {
 public:
  // Creates dir/manifest holding a checkpoint of `s`; it must not exist.
  static Status Create(Env* env, const std::string& dir, const VolumeState& s);
  // Replays dir/manifest. writable: a torn tail is cut off and Append works.
  static Result<std::unique_ptr<Manifest>> Open(Env* env, const std::string& dir, bool writable);

  const VolumeState& state() const { return state_; }
  uint64_t torn_bytes() const { return torn_bytes_; }  // cut off (or ignored) at open
  uint64_t records() const { return records_; }

  // Validates the record against the state, appends and syncs it, then
  // applies it. On error the state is unchanged and the manifest refuses
  // further appends (reopen it).
  Status Append(RecordType t, const std::string& payload);

 private:
  Manifest(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  Status Replay(const std::string& bytes);
  Status MaybeRewrite();

  Env* env_;
  std::string dir_;
  std::unique_ptr<File> file_;  // writable only
  VolumeState state_;
  uint64_t seq_ = 0;  // of the last record
  uint64_t end_ = 0;  // file size
  uint64_t checkpoint_size_ = 0;
  uint64_t records_ = 0;
  uint64_t torn_bytes_ = 0;
  bool broken_ = false;
};

}  // namespace ddl::vol
