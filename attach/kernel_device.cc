// kernel_device.cc - /dev/ddloop-control ioctls.
#include "attach/kernel_device.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "deltafile/file_lock.h"
#include "kernel/ddloop_uapi.h"

namespace ddl::attach {

namespace {

constexpr const char* kControl = "/dev/ddloop-control";

Status Errno(const std::string& what) { return IOError(what + ": " + std::strerror(errno)); }

int IndexOf(const std::string& dev) {
  const std::string prefix = "/dev/ddloop";
  if (dev.rfind(prefix, 0) != 0 || dev.size() == prefix.size()) return -1;
  for (size_t i = prefix.size(); i < dev.size(); i++)
    if (!std::isdigit(static_cast<unsigned char>(dev[i]))) return -1;
  return std::atoi(dev.c_str() + prefix.size());
}

}  // namespace

bool KernelDriverAvailable() { return ::access(kControl, F_OK) == 0; }
bool IsKernelDevice(const std::string& dev) { return IndexOf(dev) >= 0; }

Result<std::string> KernelAttach(const std::string& base, const std::vector<std::string>& deltas,
                                 uint64_t cache_bytes) {
  int ctl = ::open(kControl, O_RDWR | O_CLOEXEC);
  if (ctl < 0) return Errno(std::string(kControl) + ": cannot open (is ddloop.ko loaded?)");
  std::vector<int> fds;
  auto close_all = [&] {
    for (int fd : fds) ::close(fd);
    ::close(ctl);
  };
  // The base is handed to the driver through the descriptor of its shared
  // lock: the driver keeps a reference to that open file (fget) until the
  // device is removed, and a flock lives as long as its open file, so
  // `apply` is refused on this base for as long as the device exists.
  std::unique_ptr<FileLock> base_lock;
  int base_fd = -1;
  if (!base.empty()) {
    auto lock = FileLock::Acquire(base, LockKind::kShared);
    if (!lock.ok()) {
      close_all();
      return lock.status();
    }
    base_lock = std::move(*lock);
    base_fd = base_lock->fd();
  }
  for (const auto& d : deltas) {
    int fd = ::open(d.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Status s = Errno(d + ": cannot open");
      close_all();
      return s;
    }
    fds.push_back(fd);
  }
  struct ddloop_add a;
  std::memset(&a, 0, sizeof a);
  a.base_fd = base_fd;
  a.ndeltas = static_cast<uint32_t>(fds.size());
  a.delta_fds = reinterpret_cast<uintptr_t>(fds.data());
  a.cache_bytes = cache_bytes;
  int r = ::ioctl(ctl, DDLOOP_CTL_ADD, &a);
  int err = errno;
  base_lock.reset();  // our reference only; the driver holds its own
  close_all();
  if (r != 0) {
    errno = err;
    return Errno("the kernel driver refused the chain (see dmesg)");
  }
  const std::string dev = "/dev/ddloop" + std::to_string(a.index);
  for (int i = 0; i < 100 && ::access(dev.c_str(), F_OK) != 0; i++) usleep(20000);  // devtmpfs/udev
  if (::access(dev.c_str(), F_OK) != 0) return IOError(dev + ": the device node did not appear");
  return dev;
}

Status KernelDetach(const std::string& dev) {
  int index = IndexOf(dev);
  if (index < 0) return InvalidArgument(dev + ": not a ddloop kernel device");
  int ctl = ::open(kControl, O_RDWR | O_CLOEXEC);
  if (ctl < 0) return Errno(std::string(kControl) + ": cannot open");
  int32_t i = index;
  int r = -1;
  for (int attempt = 0; attempt < 50; attempt++) {  // udev may still hold it briefly
    r = ::ioctl(ctl, DDLOOP_CTL_REMOVE, &i);
    if (r == 0 || errno != EBUSY) break;
    usleep(100000);
  }
  int err = errno;
  ::close(ctl);
  if (r != 0 && err == ENODEV) return Status::Ok();  // already gone
  if (r != 0) {
    errno = err;
    return Errno(dev + ": cannot remove" + (err == EBUSY ? " (in use: unmount it first)" : ""));
  }
  return Status::Ok();
}

std::vector<KernelDeviceInfo> KernelDevices() {
  std::vector<KernelDeviceInfo> out;
  DIR* d = ::opendir("/sys/block");
  if (!d) return out;
  int ctl = ::open(kControl, O_RDWR | O_CLOEXEC);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("ddloop", 0) != 0) continue;
    KernelDeviceInfo info;
    info.dev = "/dev/" + name;
    struct ddloop_status st;
    std::memset(&st, 0, sizeof st);
    st.index = IndexOf(info.dev);
    if (ctl >= 0 && st.index >= 0 && ::ioctl(ctl, DDLOOP_CTL_STATUS, &st) == 0) {
      info.ndeltas = st.ndeltas;
      info.size = st.size;
      info.extents = st.extents;
      info.index_bytes = st.index_bytes;
      info.cache_bytes = st.cache_bytes;
      info.io_errors = st.io_errors;
      info.openers = st.openers;
    }
    out.push_back(info);
  }
  if (ctl >= 0) ::close(ctl);
  ::closedir(d);
  return out;
}

}  // namespace ddl::attach
