// runner.h - every step of attach and detach that changes the system (child
// programs such as mount(8) and the serving process, loop and kernel
// devices, unmounts, signals) behind one interface, so the flows in
// attach.h and teardown.h run in a unit test against a fake that needs no
// root. PosixRunner() is the real one; it is stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl::attach {

class Runner {
 public:
  virtual ~Runner() = default;
  // Runs argv (argv[0] looked up in PATH) and waits: its exit status (128+N
  // if killed by signal N, 127 if it could not start). Its stderr goes to
  // *err when err is not null.
  virtual int Run(const std::vector<std::string>& argv, std::string* err) = 0;
  virtual bool IsMountPoint(const std::string& dir) = 0;
  // umount2(dir, lazy ? MNT_DETACH : 0): 0, or the errno.
  virtual int Unmount(const std::string& dir, bool lazy) = 0;
  // loop_device.h.
  virtual Result<std::string> LoopAttach(const std::string& file, bool read_only, const std::string& tag) = 0;
  virtual Status LoopDetach(const std::string& dev) = 0;
  virtual std::string LoopBackingFile(const std::string& dev) = 0;
  // kernel_device.h.
  virtual bool KernelDriverAvailable() = 0;
  virtual Result<std::string> KernelAttach(const std::string& base, const std::vector<std::string>& deltas,
                                           uint64_t cache_bytes) = 0;
  virtual Status KernelDetach(const std::string& dev) = 0;
  // Whether process `pid` lives and is the server of attachment dir `dir`
  // (its command line is a mount naming dir), not a recycled PID.
  virtual bool ServerAlive(int pid, const std::string& dir) = 0;
  virtual void Kill(int pid, int sig) = 0;
};

// The real system.
Runner* PosixRunner();

}  // namespace ddl::attach
