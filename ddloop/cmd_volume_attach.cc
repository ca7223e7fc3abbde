// cmd_volume_attach.cc - `ddloop volume attach VOL [--snapshot S]`: the
// live volume read-write (or a snapshot read-only) as a loop device, by the
// same flow as `ddloop attach` (attach/attach.h); and the server it starts,
// the hidden `ddloop volume mount` (attach/volume_server.h).
#include <cstdio>
#include <ctime>
#include <memory>

#include "attach/attach.h"
#include "attach/run_program.h"
#include "attach/volume_server.h"
#include "ddloop/attach_and_print.h"
#include "ddloop/exit_codes.h"
#include "ddloop/output.h"
#include "ddloop/volume_commands.h"

namespace ddl::cli {

namespace {

struct VolumeAttachOptions {
  std::string vol;
  std::string snapshot;
  std::string mount_fs;
  bool json = false;
};

Status RunAttach(const VolumeAttachOptions& o) {
  attach::AttachSpec spec;
  spec.volume = o.vol;
  spec.snapshot = o.snapshot;
  spec.mount_fs = o.mount_fs;
  return AttachAndPrint(spec, o.json, /*backend_note=*/false);
}

struct ServeOptions {
  std::string vol;
  std::string mountpoint;
  std::string snapshot;
  std::string attachment;
  std::string log_file;
  std::string pid_file;
  int threads = 8;
  bool foreground = false;
};

Status RunServe(const ServeOptions& o) {
  if (o.threads < 1 || o.threads > 64) return InvalidArgument("--threads must be 1 to 64");
  attach::VolumeServeSpec s;
  s.vol = o.vol;
  s.mountpoint = o.mountpoint;
  s.snapshot = o.snapshot;
  s.attachment = o.attachment;
  s.threads = o.threads;
  s.foreground = o.foreground;
  s.pid_file = attach::AbsolutePath(o.pid_file);
  s.log = std::make_shared<attach::ServerLog>("ddloop volume", attach::AbsolutePath(o.log_file),
                                              [] { return IsoTime(uint64_t(time(nullptr)) * 1000000000ull); });
  s.describe = [](const vol::SnapshotInfo& snap) { return SnapshotJson(snap).Dump(); };
  return attach::ServeVolume(s);
}

}  // namespace

Command SetupVolumeAttach(CLI::App& volume) {
  auto o = std::make_shared<VolumeAttachOptions>();
  CLI::App* app = volume.add_subcommand("attach", "Attach the live volume (read-write) or a snapshot as a loop device");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_option("--snapshot", o->snapshot, "Attach this snapshot read-only instead of the live volume");
  app->add_option("--mount-fs", o->mount_fs, "Also mount the filesystem on the device here");
  app->add_flag("--json", o->json, "Print a JSON object instead of the device name");
  return {app, [o] { return RunAttach(*o); }};
}

Command SetupVolumeServe(CLI::App& volume) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* app = volume.add_subcommand("mount", "The FUSE server of volume attach (internal)");
  app->group("");  // hidden: started by `volume attach`
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_option("mountpoint", o->mountpoint, "FUSE mount point")->required();
  app->add_option("--snapshot", o->snapshot, "Serve this snapshot read-only");
  app->add_option("--attachment", o->attachment, "Attachment id, for the lock's description");
  app->add_option("--log", o->log_file, "Append events to this file");
  app->add_option("--pid-file", o->pid_file, "Write the serving process's PID here once mounted");
  app->add_option("--threads", o->threads, "FUSE worker threads (default 8)");
  app->add_flag("-f,--foreground", o->foreground, "Stay in the foreground");
  return {app, [o] { return RunServe(*o); }};
}

}  // namespace ddl::cli
