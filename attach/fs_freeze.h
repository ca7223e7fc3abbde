// fs_freeze.h - freezing the filesystem mounted on an attached volume
// (fsfreeze(8)) so a snapshot taken meanwhile holds a clean filesystem.
// Thread-safe when the Runner is.
#pragma once

#include <string>

#include "attach/runner.h"
#include "deltafile/status.h"

namespace ddl::attach {

// fsfreeze -f FS (freeze) or -u FS (thaw); IOError with its first stderr line.
Status FreezeFs(const std::string& fs, bool freeze, Runner* r = PosixRunner());

}  // namespace ddl::attach
