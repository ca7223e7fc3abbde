// replace_file.h - write an output file so that it is never seen
// half-written: into a new, uniquely named file beside it (CreateTempFile), synced, renamed over OUT, the
// directory synced. The temporary file is removed on error and when
// SIGINT, SIGTERM or SIGHUP stops the process meanwhile. One at a time per
// process (the signal handler knows one path).
#pragma once

#include <functional>
#include <string>

#include "deltafile/io.h"

namespace ddl::cli {

Status ReplaceFile(Env* env, const std::string& out, const std::function<Status(File*)>& write);

}  // namespace ddl::cli
