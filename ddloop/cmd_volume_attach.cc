// cmd_volume_attach.cc - `ddloop volume attach VOL [--snapshot S]`: the
// live volume read-write (or a snapshot read-only) as a loop device, over
// the same FUSE + loop path as `ddloop attach`; and the server it starts,
// the hidden `ddloop volume mount`, which serves the volume, holds its lock
// and answers snapshot requests on VOL/control.
//
// The live volume's server is in the kernel's writeback path (loop ->
// FUSE -> here): it sets PR_SET_IO_FLUSHER, so its allocations do not wait
// on the writeback it serves and it is not throttled as a dirtier, and
// mlockall, so its memory is never paged out from under a write.
#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "ddloop/fuse_disk.h"
#include "ddloop/output.h"
#include "ddloop/run_program.h"
#include "ddloop/volume_commands.h"
#include "snapcore/snapshot_view.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#endif

// ASan reserves terabytes of shadow memory: mlockall would try to fault it all in.
#if defined(__SANITIZE_ADDRESS__)
#define DDLOOP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DDLOOP_ASAN 1
#endif
#endif

namespace ddl::cli {

namespace {

struct AttachOptions {
  std::string vol;
  std::string snapshot;
  std::string mount_fs;
  bool json = false;
};

Status RunAttach(const AttachOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
  const bool live = o.snapshot.empty();
  if (!live && st.Find(o.snapshot) < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + o.snapshot + "'");
  if (live) {
    std::string holder = VolumeLockHolder(dir);
    if (!holder.empty()) return Status(Code::kBusy, dir + ": in use by " + holder);
    if (st.revert_target != 0)
      return InvalidArgument(dir + ": a revert was interrupted; run 'ddloop volume revert' to finish it");
  }
  DDL_RETURN_IF_ERROR(CheckMountFsDir(o.mount_fs));

  DDL_ASSIGN_OR_RETURN(Attachment a, NewAttachment());
  a.volume = dir;
  a.snapshot = live ? "" : st.snaps[size_t(st.Find(o.snapshot))].name;
  auto fail = [&](Status s) {
    std::vector<std::string> undo;
    (void)Teardown(a, true, &undo);
    return s;
  };
  DDL_RETURN_IF_ERROR(SaveAttachment(a));
  std::vector<std::string> argv = {SelfExe(),    "volume",       "mount",        "--log", a.dir + "/log",
                                   "--pid-file", a.dir + "/pid", "--attachment", a.id};
  if (!live) argv.insert(argv.end(), {"--snapshot", a.snapshot});
  argv.insert(argv.end(), {dir, a.FuseMount()});
  Status s = StartServer(argv, &a);
  if (s.ok()) s = BindAndMount(&a, live, o.mount_fs);
  if (!s.ok()) return fail(s);
  if (o.json) {
    Json j;
    j.Str("id", a.id)
        .Str("volume", dir)
        .Str("snapshot", a.snapshot)
        .Str("device", a.loop)
        .Str("fs_mount", a.fs_mount)
        .Str("fuse_mount", a.FuseMount())
        .Num("pid", static_cast<uint64_t>(a.pid))
        .Bool("writable", live);
    std::printf("%s\n", j.Dump().c_str());
  } else {
    std::printf("%s\n", a.loop.c_str());
  }
  return Status::Ok();
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

// One control request: "create NAME" or "delete NAME" (volume_control.h).
std::string Handle(vol::Volume* v, const std::string& req) {
  auto reply = [](const Status& s) { return "err " + std::to_string(int(s.code())) + " " + s.message(); };
  size_t sp = req.find(' ');
  std::string verb = req.substr(0, sp), arg = sp == std::string::npos ? "" : req.substr(sp + 1);
  if (verb == "create") {
    auto snap = v->CreateSnapshot(arg);
    if (!snap.ok()) return reply(snap.status());
    Json j;
    j.Str("name", snap->name)
        .Num("id", snap->id)
        .Str("uuid", snap->uuid.ToString())
        .Str("fingerprint", snap->fingerprint.Hex())
        .Num("chunks", snap->chunks)
        .Str("created", IsoTime(snap->create_ns));
    return "ok " + j.Dump();
  }
  if (verb == "delete") {
    Status s = v->DeleteSnapshot(arg);
    return s.ok() ? "ok {}" : reply(s);
  }
  return reply(InvalidArgument("unknown request '" + verb + "'"));
}

Status RunServe(const ServeOptions& o) {
  if (o.threads < 1 || o.threads > 64) return InvalidArgument("--threads must be 1 to 64");
  const std::string dir = VolumeDir(o.vol);
  auto log = std::make_shared<ServerLog>("ddloop volume", AbsolutePath(o.log_file));
  const std::string who = "ddloop volume attach" + (o.attachment.empty() ? "" : ", " + o.attachment);
  std::unique_ptr<VolumeLock> lock;
  std::unique_ptr<vol::Volume> v;
  std::unique_ptr<vol::SnapshotView> view;
  std::unique_ptr<DiskSource> disk;
  if (o.snapshot.empty()) {
    vol::OpenOptions oo;
    oo.note = [log](const std::string& n) { (*log)(n); };
    DDL_ASSIGN_OR_RETURN(LockedVolume lv, OpenLocked(dir, who, oo));
    lock = std::move(lv.lock);
    v = std::move(lv.volume);
    disk = VolumeDisk(v.get());
  } else {
    DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
    int i = st.Find(o.snapshot);
    if (i < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + o.snapshot + "'");
    DDL_ASSIGN_OR_RETURN(view, vol::SnapshotView::Open(Env::Posix(), dir, st, i));
    disk = SnapshotDisk(view.get());
  }
  std::unique_ptr<ControlServer> control;
  FuseDiskOptions fo;
  fo.mountpoint = o.mountpoint;
  fo.foreground = o.foreground;
  fo.max_threads = o.threads;
  fo.pid_file = AbsolutePath(o.pid_file);
  fo.log = [log](const std::string& l) { (*log)(l); };
  fo.on_ready = [&] {
    if (!v) return;
    lock->Describe(who);  // our PID changed when we daemonized
    if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0)
      (*log)(std::string("warning: prctl(PR_SET_IO_FLUSHER): ") + std::strerror(errno) +
             " (needs Linux 5.6 and CAP_SYS_RESOURCE); writes may stall under memory pressure");
    // Worker threads need little stack; keep what mlockall pins small.
    setenv("FUSE_THREAD_STACK", "1048576", 0);
#ifndef DDLOOP_ASAN
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
      (*log)(std::string("warning: mlockall: ") + std::strerror(errno) + "; the server's memory may be paged out");
#endif
    auto c = ControlServer::Start(dir, [&v](const std::string& req) { return Handle(v.get(), req); });
    if (c.ok())
      control = std::move(*c);
    else
      (*log)("warning: " + c.status().message() + "; ddloop snapshot cannot reach this attachment");
  };
  fo.on_stop = [&] { control.reset(); };  // no snapshot requests once the volume closes
  int rc = RunFuseDisk(disk.get(), fo);
  if (rc != 0) return Status(rc == 3 ? Code::kIOError : Code::kInvalidArgument, o.mountpoint + ": mount failed");
  return Status::Ok();
}

}  // namespace

Command SetupVolumeAttach(CLI::App& volume) {
  auto o = std::make_shared<AttachOptions>();
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
