// volume_control.h - one writer per volume, and how other commands reach
// the writer that serves an attached volume.
//
// VOL/lock    snapcore/volume_lock.h: an exclusive Env::LockFile by whoever
//             opens the volume writable (the attach server for its lifetime,
//             revert, a local snapshot create/delete, check); holds one line
//             saying who, for error messages.
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
#include "snapcore/volume_lock.h"

namespace ddl::attach {

// VOL/lock is snapcore/volume_lock.h (through Env).
using vol::VolumeLock;
using vol::VolumeLockHolder;

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
