// archive_target.h - `archive --append`: a pax archive added at the end of
// an existing regular file (tar concatenation), all or nothing.
//
// The file is opened without following a link (O_APPEND|O_NOFOLLOW) and
// written with write(2); on any failure, and when SIGINT, SIGTERM or SIGHUP
// stops the process, it is cut back to its size before the append and
// synced, so a failed append (a full disk) leaves the archive exactly as it
// was and a later append restores in full. POSIX, not Env: the cut-back on a
// signal needs a descriptor an async-signal-safe handler can ftruncate, and
// Env has no open mode for "append to an existing file of anyone's". Every
// other archive target (a new or replaced file, a pipe, a FIFO, a tape; a
// terminal rejected) is the command's OutputTarget.
//
// One append at a time per process (the signal handler has one slot).
#pragma once

#include <string>

#include "backup/archive_writer.h"

namespace ddl {

// True when `path` itself (not through a symbolic link) is a regular file:
// then --append adds to it; anything else is written as a new archive.
bool IsAppendableFile(const std::string& path);

// Writes archive `index` of `plan` at the end of the regular file `path`,
// then fsyncs it. On failure the file is cut back and the error says so:
// "... (the archive is as it was before the append)".
Status AppendArchive(const ArchivePlan& plan, size_t index, const std::string& path, const ArchiveWriteOptions& o,
                     ArchiveWriteReport* report);

}  // namespace ddl
