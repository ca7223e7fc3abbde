// volume_server.cc - ServeVolume and its control handler.
#include "attach/volume_server.h"

#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "attach/disk_source.h"
#include "attach/volume_control.h"
#include "attach/volume_open.h"
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

namespace ddl::attach {

std::string HandleControlRequest(vol::Volume* v, const std::string& req, const DescribeSnapshot& describe) {
  auto reply = [](const Status& s) { return "err " + std::to_string(int(s.code())) + " " + s.message(); };
  size_t sp = req.find(' ');
  std::string verb = req.substr(0, sp), arg = sp == std::string::npos ? "" : req.substr(sp + 1);
  if (verb == "create") {
    auto snap = v->CreateSnapshot(arg);
    if (!snap.ok()) return reply(snap.status());
    return "ok " + describe(*snap);
  }
  if (verb == "delete") {
    Status s = v->DeleteSnapshot(arg);
    return s.ok() ? "ok {}" : reply(s);
  }
  return reply(InvalidArgument("unknown request '" + verb + "'"));
}

Status ServeVolume(const VolumeServeSpec& s) {
  const std::string dir = VolumeDir(s.vol);
  std::shared_ptr<ServerLog> log = s.log;
  const std::string who = "ddloop volume attach" + (s.attachment.empty() ? "" : ", " + s.attachment);
  std::unique_ptr<VolumeLock> lock;
  std::unique_ptr<vol::Volume> v;
  std::unique_ptr<vol::SnapshotView> view;
  std::unique_ptr<DiskSource> disk;
  if (s.snapshot.empty()) {
    vol::OpenOptions oo;
    oo.note = [log](const std::string& n) { (*log)(n); };
    DDL_ASSIGN_OR_RETURN(LockedVolume lv, OpenLocked(dir, who, oo));
    lock = std::move(lv.lock);
    v = std::move(lv.volume);
    disk = VolumeDisk(v.get());
  } else {
    DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
    int i = st.Find(s.snapshot);
    if (i < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + s.snapshot + "'");
    DDL_ASSIGN_OR_RETURN(view, vol::SnapshotView::Open(Env::Posix(), dir, st, i));
    disk = SnapshotDisk(view.get());
  }
  std::unique_ptr<ControlServer> control;
  FuseDiskOptions fo;
  fo.mountpoint = s.mountpoint;
  fo.foreground = s.foreground;
  fo.max_threads = s.threads;
  fo.pid_file = s.pid_file;
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
    const DescribeSnapshot& describe = s.describe;
    auto c = ControlServer::Start(
        dir, [&v, &describe](const std::string& req) { return HandleControlRequest(v.get(), req, describe); });
    if (c.ok())
      control = std::move(*c);
    else
      (*log)("warning: " + c.status().message() + "; ddloop snapshot cannot reach this attachment");
  };
  fo.on_stop = [&] { control.reset(); };  // no snapshot requests once the volume closes
  int rc = RunFuseDisk(disk.get(), fo);
  if (rc != 0) return Status(rc == 3 ? Code::kIOError : Code::kInvalidArgument, s.mountpoint + ": mount failed");
  return Status::Ok();
}

}  // namespace ddl::attach
