// volume_open.h - finding and opening a ddloop volume the way attach, its
// server and the volume commands do: the directory as recorded, the
// manifest read without a lock, the volume opened writable under VOL/lock
// (volume_control.h). Stateless functions; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "attach/volume_control.h"
#include "snapcore/volume.h"

namespace ddl::attach {

// VOL as an absolute path without symlinks (as attachments record it).
std::string VolumeDir(const std::string& vol);

// Reads the manifest (read-only, no lock): NotFound if VOL is not a volume.
Result<vol::VolumeState> ReadVolumeState(const std::string& dir);

// The volume opened writable under its lock.
struct LockedVolume {
  std::unique_ptr<VolumeLock> lock;
  std::unique_ptr<vol::Volume> volume;
};
Result<LockedVolume> OpenLocked(const std::string& dir, const std::string& what, const vol::OpenOptions& o);

}  // namespace ddl::attach
