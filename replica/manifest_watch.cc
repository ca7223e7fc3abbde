// manifest_watch.cc - ManifestWatch (manifest_watch.h).
#include "replica/manifest_watch.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "snapcore/volume_format.h"

namespace ddl::replica {

ManifestWatch::ManifestWatch(const std::string& volume_dir) : name_(vol::ManifestPath("").substr(1)) {
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  if (::inotify_add_watch(fd_, volume_dir.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

ManifestWatch::~ManifestWatch() {
  if (fd_ >= 0) ::close(fd_);
}

bool ManifestWatch::Drain() {
  alignas(struct inotify_event) char buf[16384];
  bool hit = false;
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return hit;  // EAGAIN: nothing more
    // Each event is a header and `len` name bytes; the kernel never splits
    // one across reads, but a length that runs past what was read ends the scan.
    for (size_t off = 0; off + sizeof(struct inotify_event) <= size_t(n);) {
      struct inotify_event ev;
      std::memcpy(&ev, buf + off, sizeof ev);
      const size_t end = off + sizeof ev + ev.len;
      if (end > size_t(n)) break;
      if (ev.len > 0 && std::strncmp(buf + off + sizeof ev, name_.c_str(), ev.len) == 0) hit = true;
      off = end;
    }
  }
}

void ManifestWatch::Wait(double seconds, const std::function<bool()>& stop) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!(stop && stop())) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return;
    int slice = int(left < 100 ? left : 100);
    if (fd_ < 0) {
      ::usleep(useconds_t(slice) * 1000);
      continue;
    }
    struct pollfd p = {fd_, POLLIN, 0};
    if (::poll(&p, 1, slice) > 0 && Drain()) return;
  }
}

}  // namespace ddl::replica
