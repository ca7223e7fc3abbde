// chain_server.h - the serving process of `ddloop mount` (and of `ddloop
// attach`, which starts it): a base plus deltafiles, with an optional COW
// scratch file, shown as MOUNTPOINT/disk over FUSE (fuse_disk.h). Not
// thread-safe: one call per process (it may daemonize it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attach/fuse_disk.h"

namespace ddl::attach {

struct ChainServeSpec {
  std::string base;  // "" when the first delta is a seed
  std::vector<std::string> deltas;
  std::string cow;  // "" read-only; created when missing
  uint64_t cache_bytes = 16u << 20;
  std::string mountpoint;
  bool foreground = false;
  bool allow_other = false;
  int threads = 8;
  std::string pid_file;  // absolute: the server changes to / when it daemonizes
  std::shared_ptr<ServerLog> log;
};

// Opens and validates the chain (the base locked shared while it is
// served), mounts, daemonizes unless foreground, serves until unmounted or
// signalled.
Status ServeChain(const ChainServeSpec& s);

}  // namespace ddl::attach
