// manifest_watch.h - waking up soon after a volume's manifest changes (a
// sync sealed a snapshot), without reading it in a busy loop: inotify on the
// volume directory, filtered to the manifest's name (it is appended to in
// place, and replaced by a rename when it is rewritten). Without inotify
// (or when the watch cannot be added) Wait simply sleeps: the caller polls.
// Used by one thread.
#pragma once

#include <functional>
#include <string>

namespace ddl::replica {

class ManifestWatch {
 public:
  explicit ManifestWatch(const std::string& volume_dir);
  ~ManifestWatch();
  ManifestWatch(const ManifestWatch&) = delete;
  ManifestWatch& operator=(const ManifestWatch&) = delete;

  // Returns when the manifest changed, `seconds` passed, or stop() is true
  // (checked every 100 ms).
  void Wait(double seconds, const std::function<bool()>& stop);

 private:
  bool Drain();  // reads the pending events: whether one was the manifest's

  std::string name_;  // the manifest's file name in the volume directory
  int fd_ = -1;
};

}  // namespace ddl::replica
