// loop_device.cc - loop device ioctls.
#include "attach/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace ddl::attach {

namespace {
Status Errno(const std::string& what) { return IOError(what + ": " + std::strerror(errno)); }
}  // namespace

Result<std::string> LoopAttach(const std::string& file, bool read_only, const std::string& tag) {
  int ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) return Errno("/dev/loop-control: cannot open (is the loop module loaded?)");
  int backing = ::open(file.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (backing < 0) {
    Status s = Errno(file + ": cannot open");
    ::close(ctl);
    return s;
  }
  for (int attempt = 0; attempt < 20; attempt++) {
    int n = ::ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) break;
    const std::string dev = "/dev/loop" + std::to_string(n);
    int fd = ::open(dev.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    struct loop_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.fd = static_cast<uint32_t>(backing);
    cfg.info.lo_flags = read_only ? LO_FLAGS_READ_ONLY : 0;
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), tag.c_str(), LO_NAME_SIZE - 1);
    int r = ::ioctl(fd, LOOP_CONFIGURE, &cfg);
    int err = errno;
    ::close(fd);
    if (r == 0) {
      ::close(backing);
      ::close(ctl);
      return dev;
    }
    if (err != EBUSY) {
      errno = err;
      Status s = Errno(dev + ": cannot bind " + file);
      ::close(backing);
      ::close(ctl);
      return s;
    }
    // Another process took it first: ask again.
  }
  Status s = Errno("no free loop device");
  ::close(backing);
  ::close(ctl);
  return s;
}

Status LoopDetach(const std::string& dev) {
  int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : Errno(dev + ": cannot open");
  for (int attempt = 0; attempt < 50; attempt++) {
    if (::ioctl(fd, LOOP_CLR_FD) == 0 || errno == ENXIO) {
      ::close(fd);
      return Status::Ok();
    }
    if (errno != EBUSY) break;
    usleep(100000);  // udev or a closing mount may still hold it
  }
  Status s = Errno(dev + ": cannot unbind");
  ::close(fd);
  return s;
}

std::string LoopBackingFile(const std::string& dev) {
  std::string name = dev.substr(dev.rfind('/') + 1);
  std::ifstream f("/sys/block/" + name + "/loop/backing_file");
  std::string s;
  std::getline(f, s);
  return s;
}

}  // namespace ddl::attach
