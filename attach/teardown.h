// teardown.h - the state of an attachment on the system (is its server
// alive, is it mounted) and undoing it. Thread-compatible: two teardowns of
// the same attachment at once race like two `ddloop detach` runs do.
#pragma once

#include <string>
#include <vector>

#include "attach/registry.h"
#include "attach/runner.h"
#include "deltafile/status.h"

namespace ddl::attach {

bool ServerAlive(const Attachment& a, Runner* r = PosixRunner());
bool FuseMounted(const Attachment& a, Runner* r = PosixRunner());
bool FsMounted(const Attachment& a, Runner* r = PosixRunner());
// What `ddloop list` shows as ok: the kernel device exists, or the server
// lives and its FUSE mount is there.
bool Healthy(const Attachment& a, Runner* r = PosixRunner());

// Undoes an attachment in order: the filesystem mount, the loop device, the
// FUSE mount, the server process, the directory. Works on stale ones (the
// server killed): nothing needs a reboot. `force` detaches a busy
// filesystem lazily (MNT_DETACH) instead of failing. Each step taken is
// appended to *steps.
Status Teardown(const Attachment& a, bool force, std::vector<std::string>* steps, Runner* r = PosixRunner());

}  // namespace ddl::attach
