// volume_control.cc - VOL/control (VOL/lock: snapcore/volume_lock.cc).
#include "attach/volume_control.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ddl::attach {

namespace {

// A sockaddr for dir/control. sun_path holds 107 bytes: a longer directory
// is named through an O_PATH descriptor (/proc/self/fd/N/control), which
// bind and connect resolve like any path. *dirfd (or -1) is closed by the caller.
Status Address(const std::string& dir, struct sockaddr_un* a, int* dirfd) {
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  *dirfd = -1;
  std::string path = dir + "/control";
  if (path.size() >= sizeof a->sun_path) {
    *dirfd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0) return IOError(dir + ": cannot open: " + std::strerror(errno));
    path = "/proc/self/fd/" + std::to_string(*dirfd) + "/control";
  }
  std::memcpy(a->sun_path, path.c_str(), path.size());
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& dir,
                                                            std::function<std::string(const std::string&)> handler) {
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->path_ = dir + "/control";
  s->handler_ = std::move(handler);
  struct sockaddr_un a;
  int dirfd;
  DDL_RETURN_IF_ERROR(Address(dir, &a, &dirfd));
  s->fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ::unlink(s->path_.c_str());  // a stale one: its server is gone (we hold the lock)
  mode_t old = ::umask(0077);  // root-only from the start
  int r = s->fd_ < 0 ? -1 : ::bind(s->fd_, reinterpret_cast<struct sockaddr*>(&a), sizeof a);
  int err = errno;
  ::umask(old);
  if (dirfd >= 0) ::close(dirfd);
  if (r != 0 || ::listen(s->fd_, 8) != 0) {
    if (r == 0) err = errno;
    return IOError(s->path_ + ": cannot listen: " + std::strerror(err));
  }
  ::chmod(s->path_.c_str(), 0600);
  s->thread_ = std::thread([p = s.get()] { p->Serve(); });
  return s;
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

void ControlServer::Serve() {
  while (!stop_) {
    struct pollfd p = {fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    struct timeval tv = {5, 0};  // a client that sends nothing is dropped
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req;
    char ch;
    while (req.size() < 4096 && ::read(c, &ch, 1) == 1 && ch != '\n') req.push_back(ch);
    std::string reply = handler_(req) + "\n";
    if (::write(c, reply.data(), reply.size()) < 0) {
      // The client went away: nothing to tell it.
    }
    ::close(c);
  }
}

Result<std::string> ControlRequest(const std::string& dir, const std::string& request, bool* served) {
  *served = false;
  struct sockaddr_un a;
  int dirfd;
  DDL_RETURN_IF_ERROR(Address(dir, &a, &dirfd));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = fd < 0 ? -1 : ::connect(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a);
  if (dirfd >= 0) ::close(dirfd);
  if (r != 0) {
    if (fd >= 0) ::close(fd);
    return std::string();
  }
  *served = true;
  std::string line = request + "\n", reply;
  if (::write(fd, line.data(), line.size()) != ssize_t(line.size())) {
    ::close(fd);
    return IOError(dir + "/control: cannot send the request: " + std::strerror(errno));
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) reply.append(buf, size_t(n));
  ::close(fd);
  while (!reply.empty() && reply.back() == '\n') reply.pop_back();
  if (reply.empty()) return IOError(dir + "/control: the attach server closed the connection without a reply");
  return reply;
}

}  // namespace ddl::attach
