// serve.h - `ddloop replica serve R DIR`: the newest sealed snapshot of the
// replica's volume (R/volume) kept mounted read-only under DIR, switched to
// the next one atomically after each sync (DESIGN.md, "Serving").
//
//   DIR/current               a symbolic link ".snapshots/<uuid>": what readers open
//   DIR/.snapshots/<uuid>/    one snapshot's filesystem, mounted read-only
//                             (an attachment of attach/attach.h, owned by
//                             "replica serve DIR", so `ddloop list` shows it)
//   DIR/lock                  one serve per DIR (snapcore/volume_lock.h)
//
// A switch attaches and mounts the new snapshot first, then replaces
// DIR/current with one rename of a fresh link and syncs DIR: a path
// resolved before it reaches the old snapshot, after it the new one, never
// a mixture. A reader inside an old snapshot (an open file, a working
// directory) keeps it: old mounts are unmounted without MNT_DETACH, which
// the kernel refuses while they are used, and retried at every poll.
//
// Serve takes no lock of the replica: it only reads the manifest, and a
// sealed snapshot never changes (sync appends new ones; `snapshot delete`
// refuses an attached snapshot). Not thread-safe: one Serve per process.
#pragma once

#include <functional>
#include <string>

#include "attach/runner.h"
#include "deltafile/status.h"

namespace ddl::replica {

struct ServeSpec {
  std::string replica_dir;  // R; its volume is R/volume
  std::string dir;          // DIR (created when missing; its parent must exist)
  // The manifest is read when it changes (inotify on R/volume) and at
  // least every poll_seconds; old mounts are retried as often.
  double poll_seconds = 1;
  // On stop, how long a snapshot still in use is waited for before it is
  // unmounted lazily (its readers then see I/O errors once its server stops).
  double stop_wait_seconds = 10;
  std::string mount_options;                    // more mount(8) -o options after "ro" ("ro,norecovery" if that fails)
  std::string server_exe;                       // the ddloop binary that serves each snapshot (attach.h)
  int busy_exit = 9;                            // its exit status for Code::kBusy
  std::function<void(const std::string&)> log;  // one line per event (may be empty)
  // Polled (every 100 ms while waiting): true stops switching, removes
  // DIR/current, releases every mount and attachment; Serve then returns Ok.
  std::function<bool()> stop;
};

// Serves until spec.stop() is true. Errors before serving starts (R/volume
// not a volume, DIR busy: kBusy, DIR unusable) are returned; a snapshot
// that cannot be attached later is logged and retried with backoff while
// the one before it stays current. Leftovers of a serve of DIR that was
// killed (its attachments, found by owner) are adopted when healthy, else
// undone, before the first switch.
Status Serve(const ServeSpec& spec, attach::Runner* r = attach::PosixRunner());

}  // namespace ddl::replica
