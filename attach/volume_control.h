// volume_control.h - one writer per volume, and how other commands reach
// the writer that serves an attached volume.
//
// VOL/lock    flock(LOCK_EX) by whoever opens the volume writable (the
//             attach server for its lifetime, revert, a local snapshot
//             create/delete); holds one line saying who, for error messages.
// VOL/control a Unix stream socket (mode 0600) the attach server listens
//             on. A request is one line, "create NAME" or "delete NAME"
//             (names never hold a newline); the reply is one line,
//             "ok JSON" or "err CODE MESSAGE" (CODE: a ddl::Code number).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "deltafile/status.h"

namespace ddl::attach {

class VolumeLock {
 public:
  // Takes VOL/lock without waiting; InvalidArgument "VOL: in use by ..." if
  // another process holds it. `what` says who we are.
  static Result<std::unique_ptr<VolumeLock>> Acquire(const std::string& dir, const std::string& what);
  ~VolumeLock();
  // Rewrites who holds it (after a fork: the new PID).
  void Describe(const std::string& what);

 private:
  VolumeLock(int fd) : fd_(fd) {}
  int fd_;
};

// Who holds VOL/lock ("pid N: what"), or "" when nobody does.
std::string VolumeLockHolder(const std::string& dir);

// The listening end, served by one thread. Not copyable.
class ControlServer {
 public:
  // Binds VOL/control (replacing a stale one: the caller holds the lock)
  // and serves each request with handler(request) -> reply.
  static Result<std::unique_ptr<ControlServer>> Start(const std::string& dir,
                                                      std::function<std::string(const std::string&)> handler);
  ~ControlServer();  // stops serving, removes the socket

 private:
  ControlServer() = default;
  void Serve();

  std::string path_;
  int fd_ = -1;
  std::function<std::string(const std::string&)> handler_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Sends one request to the server of `dir`. *served is false (and Ok is
// returned with "") when no server listens there.
Result<std::string> ControlRequest(const std::string& dir, const std::string& request, bool* served);

}  // namespace ddl::attach
