// volume_commands.h - the pieces of `ddloop volume` and `ddloop snapshot`
// (ddloop-volume(8), ddloop-snapshot(8)): each sub-subcommand's setup, and
// what they share. Commands that open a volume writable hold VOL/lock
// (attach/volume_open.h) while they do.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attach/registry.h"
#include "attach/volume_open.h"
#include "ddloop/command.h"
#include "ddloop/output.h"
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

// A snapshot as `snapshot create --json` prints it, and as the volume
// server answers a control request to create one.
Json SnapshotJson(const vol::SnapshotInfo& s);

// The volume plumbing the commands use (attach/volume_open.h, registry.h).
using attach::Attachment;
using attach::ControlRequest;
using attach::LockedVolume;
using attach::OpenLocked;
using attach::ReadVolumeState;
using attach::VolumeAttachments;
using attach::VolumeDir;
using attach::VolumeLock;
using attach::VolumeLockHolder;

}  // namespace ddl::cli
