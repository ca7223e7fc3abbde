// fuse_disk.h - a FUSE filesystem with one file, `disk`, whose bytes are a
// DiskSource (disk_source.h): a chain, a COW overlay over one, a live volume
// or a volume snapshot. Multi-threaded; kernel page cache kept across opens
// (the content only changes through this mount); reads up to 1 MiB. fsync
// and flush of `disk` (a loop device's REQ_PREFLUSH arrives as fsync)
// call DiskSource::Flush; when the server stops, DiskSource::Close.
#pragma once

#include <functional>
#include <string>

#include <mutex>

#include "attach/disk_source.h"

namespace ddl::attach {

struct FuseDiskOptions {
  std::string mountpoint;
  bool foreground = false;
  bool allow_other = false;
  int max_threads = 8;
  std::string pid_file;  // written once the mount is up (after daemonizing)
  std::function<void(const std::string&)> log;
  // Runs in the serving process once it is mounted and daemonized, before
  // the worker threads start (prctl flags set here are inherited by them).
  std::function<void()> on_ready;
  // Runs when the loop has ended, before the disk is closed.
  std::function<void()> on_stop;
};

// Log lines of a server go to a file, to syslog, and to stderr while it is
// ours, each prefixed with `who` ("ddloop mount"); in the file, after the
// time stamp() gives. Thread-safe.
class ServerLog {
 public:
  ServerLog(std::string who, std::string file, std::function<std::string()> stamp);
  void operator()(const std::string& line);

 private:
  std::string who_;
  std::string file_;
  std::function<std::string()> stamp_;
  std::mutex mu_;
};

// Mounts, daemonizes unless foreground (the caller returns once the mount
// is ready), serves until unmounted or signalled. Returns the exit status.
// Closes the disk (DiskSource::Close) when the loop ends.
int RunFuseDisk(DiskSource* disk, const FuseDiskOptions& o);

}  // namespace ddl::attach
