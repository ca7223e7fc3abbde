// output_target.cc - OutputTarget (output_target.h).
#include "ddloop/output_target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "deltafile/replace_file.h"

namespace ddl::cli {

namespace {

Status SysError(const std::string& name, const char* what, int err) {
  return Status(err == ENOENT ? Code::kNotFound : Code::kIOError, name + ": " + what + ": " + std::strerror(err));
}

// A File over a descriptor that is written strictly front to back with
// write(2): a pipe, a FIFO, a character or block device, standard output.
// Writing anywhere but at the current end is a bug of the caller, rejected.
class StreamFile : public File {
 public:
  StreamFile(std::string name, int fd, bool sync) : File(std::move(name)), fd_(fd), sync_(sync) {}

  Status ReadAt(uint64_t, void*, size_t, size_t*) override {
    return IOError(name() + ": is written as a stream and cannot be read back");
  }

  Status WriteAt(uint64_t off, const void* buf, size_t n) override {
    if (off != pos_)
      return IOError(name() + ": write at byte " + std::to_string(off) + " of a stream that is at byte " +
                     std::to_string(pos_) + " (a stream is written front to back)");
    const char* p = static_cast<const char*>(buf);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return SysError(name(), "write failed", errno);
      if (w == 0) return IOError(name() + ": write failed: no progress");
      p += w;
      n -= static_cast<size_t>(w);
      pos_ += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (sync_ && ::fdatasync(fd_) != 0) return SysError(name(), "fdatasync failed", errno);
    return Status::Ok();
  }

  Result<uint64_t> Size() override { return pos_; }

  Status Truncate(uint64_t size) override {
    if (size == pos_) return Status::Ok();
    return IOError(name() + ": a stream cannot be resized");
  }

 private:
  int fd_;
  bool sync_;
  uint64_t pos_ = 0;
};

Status RejectTerminal(const std::string& name, const std::string& what) {
  return InvalidArgument(name + ": is a terminal; refusing to write " + what +
                         " to it (give a file, or redirect to a file or pipe)");
}

}  // namespace

OutputTarget::~OutputTarget() {
  if (own_fd_) ::close(fd_);
}

Result<std::unique_ptr<OutputTarget>> OutputTarget::Open(const std::string& out, const std::string& what) {
  std::unique_ptr<OutputTarget> t(new OutputTarget);
  t->name_ = out;
  struct stat so;
  const bool have_stdout = ::fstat(STDOUT_FILENO, &so) == 0;
  auto use_stdout = [&]() -> Result<std::unique_ptr<OutputTarget>> {
    if (!have_stdout) return IOError(t->name_ + ": standard output is closed");
    if (::isatty(STDOUT_FILENO)) return RejectTerminal(t->name_, what);
    t->fd_ = STDOUT_FILENO;
    t->stream_ = t->stdout_ = true;
    t->sync_ = S_ISREG(so.st_mode) || S_ISBLK(so.st_mode);
    ::signal(SIGPIPE, SIG_IGN);  // a reader that goes away is a write error, one line
    return std::move(t);
  };
  if (out.empty()) return InvalidArgument("-o: the output name is empty");
  if (out == "-") {
    t->name_ = "<stdout>";
    return use_stdout();
  }

  struct stat sl;
  if (::lstat(out.c_str(), &sl) != 0) {
    if (errno != ENOENT) return SysError(out, "cannot stat", errno);
    t->replace_path_ = out;  // a new file
    return t;
  }
  const bool link = S_ISLNK(sl.st_mode);
  struct stat st = sl;
  if (link && ::stat(out.c_str(), &st) != 0) {
    if (errno == ENOENT) return IOError(out + ": is a symbolic link to nothing; refusing to create a file through it");
    return SysError(out, "cannot stat", errno);
  }
  // /dev/stdout, /proc/self/fd/1, /dev/fd/1: whatever standard output is.
  if (have_stdout && st.st_dev == so.st_dev && st.st_ino == so.st_ino && st.st_mode == so.st_mode) return use_stdout();
  if (S_ISDIR(st.st_mode)) return InvalidArgument(out + ": is a directory");
  if (S_ISREG(st.st_mode)) {
    if (!link) {
      t->replace_path_ = out;
      return t;
    }
    // Replace the file the link resolves to; the link stays a link.
    char real[PATH_MAX];
    if (::realpath(out.c_str(), real) == nullptr) return SysError(out, "cannot resolve the symbolic link", errno);
    t->replace_path_ = real;
    return t;
  }

  // A FIFO, a device: written in place, never created, truncated or replaced.
  // O_EXCL on a block device: rejected if mounted or otherwise held.
  int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY | (S_ISBLK(st.st_mode) ? O_EXCL : 0);
  int fd = ::open(out.c_str(), flags);
  if (fd < 0) return SysError(out, "cannot open", errno);
  t->fd_ = fd;
  t->own_fd_ = true;
  t->stream_ = true;
  struct stat sf;
  if (::fstat(fd, &sf) != 0) return SysError(out, "stat failed", errno);
  if (S_ISREG(sf.st_mode) || S_ISDIR(sf.st_mode) || sf.st_ino != st.st_ino || sf.st_dev != st.st_dev)
    return IOError(out + ": changed while being opened; refusing to write to it");
  if (::isatty(fd)) return RejectTerminal(out, what);
  t->sync_ = S_ISBLK(sf.st_mode);
  ::signal(SIGPIPE, SIG_IGN);
  return t;
}

Status OutputTarget::Write(Env* env, const std::function<Status(File*)>& write) {
  if (!stream()) return ReplaceFile(env, replace_path_, write, ReplaceOption::kRemoveTempOnSignal);
  StreamFile f(name_, fd_, sync_);
  DDL_RETURN_IF_ERROR(write(&f));
  DDL_RETURN_IF_ERROR(f.Sync());
  if (!own_fd_) return Status::Ok();
  own_fd_ = false;
  if (::close(fd_) != 0) return SysError(name_, "close failed", errno);
  return Status::Ok();
}

}  // namespace ddl::cli
