// attach.cc - Attach: the steps, in order, with undo on failure.
#include "attach/attach.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "attach/kernel_device.h"
#include "attach/open_chain.h"
#include "attach/run_program.h"
#include "attach/teardown.h"
#include "attach/volume_control.h"
#include "attach/volume_open.h"

namespace ddl::attach {

namespace {

// --mount-fs DIR must be a directory with nothing mounted on it.
Status CheckMountFsDir(const std::string& dir, Runner* r) {
  if (dir.empty()) return Status::Ok();
  if (r->IsMountPoint(dir)) return InvalidArgument(dir + ": something is already mounted there");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return InvalidArgument(dir + ": not a directory");
  return Status::Ok();
}

// A volume: it exists, the snapshot exists; the live one is not served
// already and has no unfinished revert. Sets *snapshot to the name found.
Status CheckVolume(const std::string& dir, const std::string& want, std::string* snapshot) {
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
  if (want.empty()) {
    std::string holder = VolumeLockHolder(Env::Posix(), dir);
    if (!holder.empty()) return Status(Code::kBusy, dir + ": in use by " + holder);
    if (st.revert_target != 0)
      return InvalidArgument(dir + ": a revert was interrupted; run 'ddloop volume revert' to finish it");
    snapshot->clear();
    return Status::Ok();
  }
  int i = st.Find(want);
  if (i < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + want + "'");
  *snapshot = st.snaps[size_t(i)].name;
  return Status::Ok();
}

// Which backend a chain uses, or why it cannot be attached.
Status ChooseBackend(const AttachSpec& s, Runner* r, bool* kernel, std::string* note) {
  if (s.backend.kernel && s.backend.fuse) return InvalidArgument("--kernel and --fuse exclude each other");
  if (s.backend.kernel && !s.cow.empty())
    return InvalidArgument("--cow needs the FUSE path: the kernel driver is read-only");
  if (s.backend.kernel && !r->KernelDriverAvailable())
    return IOError("/dev/ddloop-control: missing: load the kernel driver (modprobe ddloop; see kernel/README)");
  *kernel = s.backend.kernel || (!s.backend.fuse && s.cow.empty() && r->KernelDriverAvailable());
  *note = *kernel          ? "using the kernel driver (/dev/ddloop-control)"
          : s.backend.fuse ? "using FUSE + loop (--fuse)"
          : !s.cow.empty() ? "using FUSE + loop (--cow needs it)"
                           : "using FUSE + loop (no /dev/ddloop-control)";
  return Status::Ok();
}

// The hidden command line of the serving process: `ddloop mount` for a
// chain, `ddloop volume mount` for a volume.
std::vector<std::string> ServerArgv(const AttachSpec& s, const Attachment& a) {
  if (!a.volume.empty()) {
    std::vector<std::string> argv = {s.server_exe, "volume",       "mount",        "--log", a.dir + "/log",
                                     "--pid-file", a.dir + "/pid", "--attachment", a.id};
    if (!a.snapshot.empty()) argv.insert(argv.end(), {"--snapshot", a.snapshot});
    argv.insert(argv.end(), {a.volume, a.FuseMount()});
    return argv;
  }
  std::vector<std::string> argv = {s.server_exe, "mount",        "--log",        a.dir + "/log",
                                   "--pid-file", a.dir + "/pid", "--cache-size", s.cache_size};
  if (!s.base.empty()) argv.insert(argv.end(), {"--base", a.base});
  if (!s.cow.empty()) argv.insert(argv.end(), {"--cow", a.cow});
  argv.insert(argv.end(), a.deltas.begin(), a.deltas.end());
  argv.push_back(a.FuseMount());
  return argv;
}

// Runs the server `argv` (which daemonizes and writes a.dir/pid), waits for
// its PID into a->pid and saves the record.
Status StartServer(const std::vector<std::string>& argv, int busy_exit, Attachment* a, Runner* r) {
  std::string err;
  int rc = r->Run(argv, &err);
  if (rc != 0) {
    while (!err.empty() && err.back() == '\n') err.pop_back();
    std::string line = err.substr(err.rfind('\n') + 1);
    if (rc == busy_exit) {
      // A lock the server needs is held (an apply on the base, another
      // server on the volume): the same kBusy, and the same one line naming
      // the file, as when attach's own check meets it.
      // Its line is "ddloop SUBCOMMAND: FILE: ..."; ours starts with FILE.
      size_t colon = line.find(": ");
      if (line.compare(0, 7, "ddloop ") == 0 && colon != std::string::npos) line.erase(0, colon + 2);
      return Status(Code::kBusy, line);
    }
    return IOError("cannot start the FUSE server: " + line);
  }
  // The server writes its PID once it has daemonized; wait for it.
  for (int i = 0; i < 100 && a->pid <= 0; i++) {
    std::ifstream pf(a->dir + "/pid");
    if (!(pf >> a->pid)) a->pid = 0;
    if (a->pid <= 0) usleep(50000);
  }
  if (a->pid <= 0) return IOError(a->dir + "/pid: the FUSE server did not report its PID");
  return SaveAttachment(*a);
}

Status MountFs(const std::string& dev, const std::string& dir, bool writable, const std::string& more, Runner* r) {
  std::string err;
  const std::string extra = more.empty() ? "" : "," + more;
  if (writable) {
    if (r->Run(more.empty() ? std::vector<std::string>{"mount", dev, dir}
                            : std::vector<std::string>{"mount", "-o", more, dev, dir},
               &err) == 0)
      return Status::Ok();
  } else {
    if (r->Run({"mount", "-o", "ro" + extra, dev, dir}, &err) == 0) return Status::Ok();
    err.clear();
    if (r->Run({"mount", "-o", "ro,norecovery" + extra, dev, dir}, &err) == 0) return Status::Ok();
  }
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return IOError(dir + ": cannot mount the filesystem on " + dev + ": " + err.substr(0, err.find('\n')));
}

// Binds a loop device to the FUSE disk, then (with mount_fs) mounts the
// filesystem on it: read-only unless writable (with the caller's options
// after ours); a read-only mount of a journal that needs recovery retries
// with norecovery. Saves the record
// after each step.
Status BindAndMount(Attachment* a, bool writable, const AttachSpec& s, Runner* r) {
  const std::string& mount_fs = s.mount_fs;
  if (a->loop.empty()) {
    DDL_ASSIGN_OR_RETURN(a->loop, r->LoopAttach(a->FuseMount() + "/disk", !writable, "ddloop:" + a->id));
    DDL_RETURN_IF_ERROR(SaveAttachment(*a));
  }
  if (mount_fs.empty()) return Status::Ok();
  DDL_RETURN_IF_ERROR(MountFs(a->loop, mount_fs, writable, s.mount_options, r));
  char buf[PATH_MAX];
  a->fs_mount = ::realpath(mount_fs.c_str(), buf) ? std::string(buf) : AbsolutePath(mount_fs);
  return SaveAttachment(*a);
}

}  // namespace

Result<Attached> Attach(const AttachSpec& s, Runner* r) {
  // Check everything we can before touching the system.
  const bool is_volume = !s.volume.empty();
  std::string volume_dir, snapshot;
  // An existing --cow file must fit this chain too. The check's shared lock
  // on the base is kept until the server (or the driver) holds its own, so
  // an apply cannot take the base in between: a busy base is stopped here,
  // by this check, with exit 9.
  std::unique_ptr<OpenedChain> check;
  if (is_volume) {
    volume_dir = VolumeDir(s.volume);
    DDL_RETURN_IF_ERROR(CheckVolume(volume_dir, s.snapshot, &snapshot));
  } else {
    check = std::make_unique<OpenedChain>();
    DDL_RETURN_IF_ERROR(OpenChain(s.base, s.deltas, s.cow, /*create_cow=*/false, ChainOptions(), check.get()));
  }
  DDL_RETURN_IF_ERROR(CheckMountFsDir(s.mount_fs, r));
  Attached out;
  bool use_kernel = false;
  if (!is_volume) DDL_RETURN_IF_ERROR(ChooseBackend(s, r, &use_kernel, &out.backend_note));
  out.writable = is_volume ? snapshot.empty() : !s.cow.empty();

  DDL_ASSIGN_OR_RETURN(out.a, NewAttachment());
  Attachment& a = out.a;
  a.owner = s.owner;
  if (is_volume) {
    a.volume = volume_dir;
    a.snapshot = snapshot;
  } else {
    a.kind = use_kernel ? kKindKernel : kKindFuse;
    a.base = AbsolutePath(s.base);
    a.cow = AbsolutePath(s.cow);
    for (const auto& d : check->deltas) a.deltas.push_back(AbsolutePath(d));  // in chain order
  }
  auto fail = [&](Status st) -> Result<Attached> {
    std::vector<std::string> undo;
    (void)Teardown(a, true, &undo, r);
    return st;
  };
  if (Status st = SaveAttachment(a); !st.ok()) return fail(st);
  if (use_kernel) {
    auto dev = r->KernelAttach(a.base, a.deltas, s.cache_bytes);
    if (!dev.ok()) return fail(dev.status());
    a.loop = *dev;
    if (Status st = SaveAttachment(a); !st.ok()) return fail(st);
  } else if (Status st = StartServer(ServerArgv(s, a), s.busy_exit, &a, r); !st.ok()) {
    return fail(st);
  }
  check.reset();  // the server or the driver holds the base's lock now
  if (Status st = BindAndMount(&a, out.writable, s, r); !st.ok()) return fail(st);
  return out;
}

}  // namespace ddl::attach
