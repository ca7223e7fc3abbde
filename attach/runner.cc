// runner.cc - PosixRunner: the Runner that acts on the real system.
#include "attach/runner.h"

#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "attach/kernel_device.h"
#include "attach/loop_device.h"
#include "attach/mount_table.h"
#include "attach/run_program.h"

namespace ddl::attach {

namespace {

class Posix final : public Runner {
 public:
  int Run(const std::vector<std::string>& argv, std::string* err) override { return RunProgram(argv, err); }
  bool IsMountPoint(const std::string& dir) override { return attach::IsMountPoint(dir); }
  int Unmount(const std::string& dir, bool lazy) override {
    return ::umount2(dir.c_str(), lazy ? MNT_DETACH : 0) == 0 ? 0 : errno;
  }
  Result<std::string> LoopAttach(const std::string& file, bool read_only, const std::string& tag) override {
    return attach::LoopAttach(file, read_only, tag);
  }
  Status LoopDetach(const std::string& dev) override { return attach::LoopDetach(dev); }
  std::string LoopBackingFile(const std::string& dev) override { return attach::LoopBackingFile(dev); }
  bool KernelDriverAvailable() override { return attach::KernelDriverAvailable(); }
  Result<std::string> KernelAttach(const std::string& base, const std::vector<std::string>& deltas,
                                   uint64_t cache_bytes) override {
    return attach::KernelAttach(base, deltas, cache_bytes);
  }
  Status KernelDetach(const std::string& dev) override { return attach::KernelDetach(dev); }
  bool ServerAlive(int pid, const std::string& dir) override {
    if (pid <= 0 || ::kill(pid, 0) != 0) return false;
    std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return cmd.find("mount") != std::string::npos && cmd.find(dir) != std::string::npos;
  }
  void Kill(int pid, int sig) override { ::kill(pid, sig); }
};

}  // namespace

Runner* PosixRunner() {
  static Posix runner;
  return &runner;
}

}  // namespace ddl::attach
