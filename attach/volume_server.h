// volume_server.h - the serving process of `ddloop volume attach` (the
// hidden `ddloop volume mount`): the live volume (read-write, holding
// VOL/lock for its lifetime, answering snapshot requests on VOL/control)
// or one snapshot (read-only), shown as MOUNTPOINT/disk over FUSE. Not
// thread-safe: one call per process (it may daemonize it).
//
// The live volume's server is in the kernel's writeback path (loop ->
// FUSE -> here): it sets PR_SET_IO_FLUSHER, so its allocations do not wait
// on the writeback it serves and it is not throttled as a dirtier, and
// mlockall, so its memory is never paged out from under a write.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "attach/fuse_disk.h"
#include "snapcore/volume.h"

namespace ddl::attach {

// The JSON a "create" request answers with after "ok " (the face formats it).
using DescribeSnapshot = std::function<std::string(const vol::SnapshotInfo&)>;

struct VolumeServeSpec {
  std::string vol;
  std::string mountpoint;
  std::string snapshot;    // "": the live volume
  std::string attachment;  // its id, for the lock's description
  int threads = 8;
  bool foreground = false;
  std::string pid_file;  // absolute
  std::shared_ptr<ServerLog> log;
  DescribeSnapshot describe;
};

Status ServeVolume(const VolumeServeSpec& s);

// One control request (volume_control.h): "create NAME" or "delete NAME";
// the reply line without its newline.
std::string HandleControlRequest(vol::Volume* v, const std::string& req, const DescribeSnapshot& describe);

}  // namespace ddl::attach
