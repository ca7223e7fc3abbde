// loop_device.h - bind a file to a free loop device and unbind it, with the
// loop ioctls (LOOP_CTL_GET_FREE, LOOP_CONFIGURE, LOOP_CLR_FD).
#pragma once

#include <string>

#include "deltafile/status.h"

namespace ddl::attach {

// Binds `file` to a free /dev/loopN; `tag` is stored as the loop's file
// name (visible in `losetup -l`). Returns "/dev/loopN".
Result<std::string> LoopAttach(const std::string& file, bool read_only, const std::string& tag);
// Unbinds; Ok if it is already unbound.
Status LoopDetach(const std::string& dev);
// The backing file the kernel reports for a loop device ("" if unbound).
std::string LoopBackingFile(const std::string& dev);

}  // namespace ddl::attach
