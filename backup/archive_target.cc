// archive_target.cc - AppendArchive (archive_target.h): the append target
// and its cut-back on failure or signal.
#include "backup/archive_target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <initializer_list>

namespace ddl {

namespace {

// The file being appended to and its size before, for the signal handler
// (ftruncate and fsync are async-signal-safe).
int g_append_fd = -1;
off_t g_append_size = 0;

void UndoAppendOnSignal(int sig) {
  if (g_append_fd >= 0 && ::ftruncate(g_append_fd, g_append_size) == 0) ::fsync(g_append_fd);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

class AppendTarget {
 public:
  ~AppendTarget() {
    g_append_fd = -1;
    if (fd_ >= 0) ::close(fd_);
  }

  Status Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    if (fd_ < 0) return IOError(path + ": cannot open: " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd_, &st) != 0) return IOError(path + ": stat failed: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return IOError(path + ": changed while being opened; refusing to append to it");
    before_ = static_cast<uint64_t>(st.st_size);
    g_append_size = st.st_size;
    g_append_fd = fd_;
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, UndoAppendOnSignal);
    return Status::Ok();
  }

  Status Write(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(fd_, c, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return IOError(path_ + ": write failed: " + (w < 0 ? std::strerror(errno) : "no progress"));
      c += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }

  Status Sync() {
    if (::fsync(fd_) != 0) return IOError(path_ + ": fsync failed: " + std::strerror(errno));
    return Status::Ok();
  }

  // After a failure: `s` with what became of the file.
  Status Undo(const Status& s) {
    if (::ftruncate(fd_, static_cast<off_t>(before_)) != 0 || ::fsync(fd_) != 0)
      return Status(s.code(), s.message() + "; and cutting the archive back to its " + std::to_string(before_) +
                                  " bytes failed: " + std::strerror(errno));
    return Status(s.code(), s.message() + " (the archive is as it was before the append)");
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t before_ = 0;
};

}  // namespace

bool IsAppendableFile(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status AppendArchive(const ArchivePlan& plan, size_t index, const std::string& path, const ArchiveWriteOptions& o,
                     ArchiveWriteReport* report) {
  AppendTarget t;
  DDL_RETURN_IF_ERROR(t.Open(path));
  Status s = WriteArchive(
      plan, index, [&](const void* p, size_t n) { return t.Write(p, n); }, o, report);
  if (s.ok()) s = t.Sync();
  return s.ok() ? s : t.Undo(s);
}

}  // namespace ddl
