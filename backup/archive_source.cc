// archive_source.cc - ArchiveSource (archive_source.h).
#include "backup/archive_source.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace ddl {

namespace {

Status RejectTerminal(const std::string& name) {
  return InvalidArgument(name +
                         ": is a terminal; refusing to read an archive from it (give a file, or redirect "
                         "from a file or pipe)");
}

}  // namespace

ArchiveSource::~ArchiveSource() {
  stream_.reset();
  if (fd_ > STDIN_FILENO) ::close(fd_);
}

Result<std::unique_ptr<ArchiveSource>> ArchiveSource::Open(Env* env, const std::string& path) {
  std::unique_ptr<ArchiveSource> s(new ArchiveSource);
  if (path == "-") {
    if (::isatty(STDIN_FILENO)) return RejectTerminal("<stdin>");
    s->stream_ = std::make_unique<FdStream>(STDIN_FILENO, "<stdin>");
    return s;
  }
  // Env::Stamp is set for regular files only: those are Env's to open.
  if (!env->Stamp(path).empty()) {
    DDL_ASSIGN_OR_RETURN(s->file_, env->Open(path, OpenMode::kRead));
    s->stream_ = std::make_unique<FileStream>(s->file_.get());
    return s;
  }
  s->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (s->fd_ < 0)
    return Status(errno == ENOENT ? Code::kNotFound : Code::kIOError, path + ": cannot open: " + std::strerror(errno));
  if (::isatty(s->fd_)) return RejectTerminal(path);
  s->stream_ = std::make_unique<FdStream>(s->fd_, path);
  return s;
}

}  // namespace ddl
