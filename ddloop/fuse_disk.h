// fuse_disk.h - a FUSE filesystem with one file, `disk`, whose bytes are a
// ChainReader's volume (read-only) or a CowOverlay over it (read-write).
// Multi-threaded; kernel page cache kept across opens (the content only
// changes through this mount); reads up to 1 MiB.
#pragma once

#include <functional>
#include <string>

#include "deltafile/chain.h"
#include "snapcore/cow_overlay.h"

namespace ddl::cli {

struct FuseDiskOptions {
  std::string mountpoint;
  bool foreground = false;
  bool allow_other = false;
  int max_threads = 8;
  std::string pid_file;  // written once the mount is up (after daemonizing)
  std::function<void(const std::string&)> log;
};

// Mounts, daemonizes unless foreground (the caller returns once the mount
// is ready), serves until unmounted or signalled. Returns the exit status.
int RunFuseDisk(ChainReader* chain, CowOverlay* cow, const FuseDiskOptions& o);

}  // namespace ddl::cli
