// replace_file.h - the one way ddloop replaces a regular file: so that it
// is never seen half-written and a link or file planted at a temporary
// name is never followed.
//
//   1. CreateTempFile (io.h): ".BASENAME.<16 random hex>.tmp" beside the
//      target, O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600;
//   2. the caller writes it; 3. fsync; 4. rename over the target;
//   5. fsync of the directory (the rename is durable when this returns).
// On any error the temporary file is removed and the target is untouched.
// With kRemoveTempOnSignal (the Posix Env only), the temporary file is also
// removed when SIGINT, SIGTERM or SIGHUP stops the process meanwhile; the
// signal then takes its default action.
//
// Only regular files and missing names are replaced: deciding that a name
// is one (and not "-", a FIFO, a device) is the caller's job
// (ddloop/output_target.h does it for `-o`).
//
// Thread-safe: concurrent replaces each use their own temporary file; of
// two replaces of one target the last rename wins. Up to 16 replaces at a
// time are covered by the signal cleanup; more still work, uncovered.
#pragma once

#include <functional>
#include <string>

#include "deltafile/io.h"

namespace ddl {

enum class ReplaceOption { kNone, kRemoveTempOnSignal };

// Replaces `path` with what `write` writes into the File it is given.
Status ReplaceFile(Env* env, const std::string& path, const std::function<Status(File*)>& write,
                   ReplaceOption option = ReplaceOption::kNone);

// WriteFileAtomic(env, path, data), declared in io.h, is ReplaceFile with
// `data` as the whole contents.

}  // namespace ddl
