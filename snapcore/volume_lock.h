// volume_lock.h - one writer per volume: VOL/lock, taken through Env.
//
// Whoever opens a volume writable (the attach server for its lifetime,
// revert, a local snapshot create or delete, volume check) holds an
// exclusive Env::LockFile on VOL/lock, and writes into it one line saying
// who it is ("pid N (WHAT)"), so that the one kept out can say whom it waits
// for. Losing the race is Code::kBusy (exit 9), "VOL: in use by pid N (WHAT)",
// with nothing changed. Through Env, so the memory env of a test sees two
// opens of one volume conflict. A VolumeLock is used by one thread.
#pragma once

#include <memory>
#include <string>

#include "deltafile/io.h"

namespace ddl::vol {

class VolumeLock {
 public:
  // Takes VOL/lock without waiting; kBusy "VOL: in use by WHO" when another
  // holder has it. `what` says who we are.
  static Result<std::unique_ptr<VolumeLock>> Acquire(Env* env, const std::string& dir, const std::string& what);
  // Empties the description, then drops the lock.
  ~VolumeLock();
  VolumeLock(const VolumeLock&) = delete;
  VolumeLock& operator=(const VolumeLock&) = delete;

  // Rewrites who holds it (after a fork: the new PID). Best effort.
  void Describe(const std::string& what);

 private:
  explicit VolumeLock(std::unique_ptr<LockedFile> lock) : lock_(std::move(lock)) {}
  std::unique_ptr<LockedFile> lock_;
};

// Who holds VOL/lock ("pid N (WHAT)"), or "" when nobody does.
std::string VolumeLockHolder(Env* env, const std::string& dir);

}  // namespace ddl::vol
