#include "backup/part_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ddl {

namespace {

// Locks the file now at `path` (not following a link) and checks that the
// name still refers to the locked file; -1 when it is locked by another
// process or is not a regular file of ours.
int LockAt(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat locked, named;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::fstat(fd, &locked) != 0 || !S_ISREG(locked.st_mode) ||
      locked.st_uid != ::geteuid() || ::lstat(path.c_str(), &named) != 0 || named.st_dev != locked.st_dev ||
      named.st_ino != locked.st_ino) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<PartFile>> PartFile::Acquire(const std::string& final_path, const std::string& part_path) {
  Env* env = Env::Posix();
  std::unique_ptr<PartFile> p(new PartFile());
  // Make sure a file of ours is at the resumable name, then lock it, then
  // open it for writing: under the lock no other pull renames or removes it.
  {
    Result<std::unique_ptr<File>> created = env->Open(part_path, OpenMode::kCreateNew);
    if (!created.ok() && created.status().code() != Code::kExists) return created.status();
  }
  p->lock_fd_ = LockAt(part_path);
  if (p->lock_fd_ >= 0) {
    Result<std::unique_ptr<File>> f = env->Open(part_path, OpenMode::kResume);
    if (f.ok()) {
      p->file_ = std::move(*f);
      p->path_ = part_path;
      return p;
    }
    ::close(p->lock_fd_);
    p->lock_fd_ = -1;
  }
  DDL_ASSIGN_OR_RETURN(p->file_, CreateTempFile(env, final_path, &p->path_));
  return p;
}

PartFile::~PartFile() {
  if (!done_) Keep();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void PartFile::Keep() {
  if (done_) return;
  done_ = true;
  file_.reset();
  if (lock_fd_ < 0) Env::Posix()->Remove(path_);
}

void PartFile::Discard() {
  if (done_) return;
  done_ = true;
  file_.reset();
  Env::Posix()->Remove(path_);
}

Status PartFile::Commit(const std::string& final_path) {
  Env* env = Env::Posix();
  Status s = file_->Sync();
  done_ = true;
  file_.reset();
  if (s.ok()) s = env->Rename(path_, final_path);
  if (!s.ok()) {
    env->Remove(path_);
    return s;
  }
  return env->SyncDirOf(final_path);
}

}  // namespace ddl
