// attachments.h - the record of what `ddloop attach` set up, so `detach`
// can undo it in order and `list` can show it, even after the serving
// process died. One directory per attachment under /run/ddloop (tmpfs: gone
// after a reboot, like the mounts it describes):
//   /run/ddloop/<id>/state   key value lines (below)
//   /run/ddloop/<id>/mnt/    the FUSE mount point (mnt/disk backs the loop)
//   /run/ddloop/<id>/log     the serving process's log
#pragma once

#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl::cli {

struct Attachment {
  std::string id;
  std::string dir;       // /run/ddloop/<id>
  std::string kind = "fuse";  // "fuse" (FUSE + loop) or "kernel" (ddloop.ko)
  std::string loop;      // the device: /dev/loopN or /dev/ddloopN; "" before it exists
  std::string fs_mount;  // --mount-fs DIR, or ""
  std::string base;
  std::string cow;
  std::vector<std::string> deltas;
  std::string volume;    // `ddloop volume attach`: the volume directory
  std::string snapshot;  // and the snapshot shown read-only ("": the live volume)
  int pid = 0;           // the FUSE server
  uint64_t created = 0;  // unix seconds

  std::string FuseMount() const { return dir + "/mnt"; }
  bool kernel() const { return kind == "kernel"; }
  bool ServerAlive() const;
  bool FuseMounted() const;
  bool FsMounted() const;
};

std::string AttachRoot();  // /run/ddloop, or $DDLOOP_RUN_DIR for tests
Result<Attachment> NewAttachment();
Status SaveAttachment(const Attachment& a);
std::vector<Attachment> ListAttachments();
// Finds by id, loop device, filesystem mount dir or FUSE mount dir.
Result<Attachment> FindAttachment(const std::string& what);
// Whether `dir` is a mount point (per /proc/self/mountinfo).
bool IsMountPoint(const std::string& dir);

// The steps `attach` and `volume attach` share.
// --mount-fs DIR must be a directory with nothing mounted on it.
Status CheckMountFsDir(const std::string& dir);
// Runs the FUSE server `argv` (which daemonizes and writes a.dir/pid), waits
// for its PID into a->pid and saves the record.
Status StartServer(const std::vector<std::string>& argv, Attachment* a);
// Binds a loop device to the FUSE disk, then (with mount_fs) mounts the
// filesystem on it: read-only unless writable; a read-only mount of a
// journal that needs recovery retries with norecovery. Saves the record
// after each step.
Status BindAndMount(Attachment* a, bool writable, const std::string& mount_fs);

}  // namespace ddl::cli

namespace ddl::cli {

// Undoes an attachment in order: the filesystem mount, the loop device, the
// FUSE mount, the server process, the directory. Works on stale ones (the
// server killed): nothing needs a reboot. `force` detaches a busy
// filesystem lazily (MNT_DETACH) instead of failing. Each step taken is
// appended to *steps.
Status Teardown(const Attachment& a, bool force, std::vector<std::string>* steps);

}  // namespace ddl::cli
