// attach.h - the one attach flow behind `ddloop attach` (a base plus
// deltafiles, maybe with a COW overlay) and `ddloop volume attach` (a live
// volume or a snapshot): check what to serve, make the attachment's record
// (registry.h), start the serving process (or hand the chain to the kernel
// driver), bind a loop device to the served disk, mount the filesystem on
// it. Every step is saved in the record before the next, and a failing step
// undoes the ones before it (teardown.h). What changes the system goes
// through a Runner (runner.h). Attach is as thread-safe as its Runner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attach/registry.h"
#include "attach/runner.h"
#include "deltafile/status.h"

namespace ddl::attach {

// --kernel / --fuse: which backend a chain may use. Neither: the kernel
// driver when it is loaded and no COW overlay is asked for, else FUSE.
struct BackendFlags {
  bool kernel = false;
  bool fuse = false;
};

struct AttachSpec {
  // A chain: the base ("" when the first delta is a seed), the deltafiles in
  // order, and a COW scratch file ("" read-only) ...
  std::string base;
  std::vector<std::string> deltas;
  std::string cow;
  uint64_t cache_bytes = 16u << 20;  // decoded records kept in memory
  std::string cache_size = "16M";    // the same as the user gave it, for the server
  BackendFlags backend;
  // ... or, when `volume` is not "", a volume: the live one (read-write)
  // or the snapshot named here (read-only).
  std::string volume;
  std::string snapshot;

  std::string mount_fs;       // also mount the filesystem here ("": do not)
  std::string mount_options;  // more mount(8) -o options, after "ro" (read-only) or alone (writable)
  std::string owner;          // Attachment::owner: the program that manages it ("": a user's attach)
  std::string server_exe;     // the ddloop binary that serves (SelfExe())
  int busy_exit = 9;          // the server's exit status for Code::kBusy (ddloop(8))
};

struct Attached {
  Attachment a;  // as saved: device, mounts, server PID
  bool writable = false;
  std::string backend_note;  // chains: which backend, and why ("using FUSE + loop (--cow needs it)")
};

// Attaches; on failure nothing it set up is left (the record included).
Result<Attached> Attach(const AttachSpec& spec, Runner* r = PosixRunner());

// The fields `ddloop attach --json` and `ddloop volume attach --json`
// print, in their order, into a writer with Str/Num/Bool (ddloop's Json).
template <class Writer>
void DescribeAttached(const Attached& at, Writer* j) {
  const Attachment& a = at.a;
  j->Str("id", a.id);
  if (a.volume.empty())
    j->Str("kind", a.kind);
  else
    j->Str("volume", a.volume).Str("snapshot", a.snapshot);
  j->Str("device", a.loop)
      .Str("fs_mount", a.fs_mount)
      .Str("fuse_mount", a.FuseMount())
      .Num("pid", static_cast<uint64_t>(a.pid))
      .Bool("writable", at.writable);
}

}  // namespace ddl::attach
