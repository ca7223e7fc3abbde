// volume_commands.h - the pieces of `ddloop volume` and `ddloop snapshot`
// (ddloop-volume(8), ddloop-snapshot(8)): each sub-subcommand's setup, and
// what they share. Commands that open a volume writable hold VOL/lock
// (volume_control.h) while they do.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ddloop/attachments.h"
#include "ddloop/command.h"
#include "ddloop/volume_control.h"
#include "snapcore/volume.h"

namespace ddl::cli {

// cmd_volume.cc: create, import, info, check.
Command SetupVolumeCreate(CLI::App& volume);
Command SetupVolumeImport(CLI::App& volume);
Command SetupVolumeInfo(CLI::App& volume);
Command SetupVolumeCheck(CLI::App& volume);
// cmd_volume_delta.cc: delta, revert.
Command SetupVolumeDelta(CLI::App& volume);
Command SetupVolumeRevert(CLI::App& volume);
// cmd_volume_attach.cc: attach, and the hidden FUSE server it starts.
Command SetupVolumeAttach(CLI::App& volume);
Command SetupVolumeServe(CLI::App& volume);

// A command group: runs whichever of `subs` was given.
Command CommandGroup(CLI::App* group, std::vector<Command> subs);

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

// The attachments of the volume at `dir` (the live one and snapshots).
std::vector<Attachment> VolumeAttachments(const std::string& dir);

}  // namespace ddl::cli
