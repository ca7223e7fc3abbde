// io_posix.cc - the POSIX Env: pread/pwrite, fdatasync, rename, and the
// block-device cases (BLKGETSIZE64, BLKZEROOUT).
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "deltafile/io.h"

namespace ddl {

namespace {

Status Errno(const std::string& name, const char* what, int err) {
  Code c = (err == ENOENT) ? Code::kNotFound : (err == EEXIST) ? Code::kExists : Code::kIOError;
  return Status(c, name + ": " + what + ": " + std::strerror(err));
}

// Calls read_some(p, len, done) until n bytes, end of input or an error;
// retries EINTR. read_some returns what read(2)/pread(2) return.
template <typename ReadSome>
Status ReadFully(const std::string& name, void* buf, size_t n, size_t* got, ReadSome read_some) {
  size_t done = 0;
  char* p = static_cast<char*>(buf);
  while (done < n) {
    ssize_t r = read_some(p + done, n - done, done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Errno(name, "read failed", errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *got = done;
  return Status::Ok();
}

class PosixFile : public File {
 public:
  PosixFile(std::string name, int fd, bool blockdev) : File(std::move(name)), fd_(fd), blockdev_(blockdev) {}
  ~PosixFile() override { ::close(fd_); }
  int Descriptor() const override { return fd_; }

  Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) override {
    return ReadFully(name(), buf, n, got, [&](char* p, size_t len, size_t done) {
      return ::pread(fd_, p, len, static_cast<off_t>(off + done));
    });
  }

  void StartWriteback(uint64_t off, uint64_t len) override {
    if (!blockdev_) ::sync_file_range(fd_, static_cast<off_t>(off), static_cast<off_t>(len), SYNC_FILE_RANGE_WRITE);
  }

  Status WriteAt(uint64_t off, const void* buf, size_t n) override {
    size_t done = 0;
    const char* p = static_cast<const char*>(buf);
    while (done < n) {
      ssize_t r = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(off + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno(name(), "write failed", errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno(name(), "fdatasync failed", errno);
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    if (blockdev_) {
      uint64_t size = 0;
      if (::ioctl(fd_, BLKGETSIZE64, &size) != 0) return Errno(name(), "BLKGETSIZE64", errno);
      return size;
    }
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno(name(), "stat failed", errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(uint64_t size) override {
    if (blockdev_) return InvalidArgument(name() + ": cannot resize a block device");
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno(name(), "truncate failed", errno);
    return Status::Ok();
  }

  Status ZeroRange(uint64_t off, uint64_t len) override {
    if (blockdev_) {
      uint64_t range[2] = {off, len};
      if (::ioctl(fd_, BLKZEROOUT, range) == 0) return Status::Ok();
    } else if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                           static_cast<off_t>(len)) == 0) {
      return Status::Ok();
    }
    return File::ZeroRange(off, len);  // filesystem or device without support
  }

 private:
  int fd_;
  bool blockdev_;
};

// The lock lives as long as the open file: closing the descriptor (when the
// File goes) drops it.
class PosixLockedFile : public LockedFile {
 public:
  explicit PosixLockedFile(std::unique_ptr<File> f) : f_(std::move(f)) {}
  File* file() override { return f_.get(); }

 private:
  std::unique_ptr<File> f_;
};

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<LockedFile>> LockFile(const std::string& path, bool exclusive) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == ELOOP) return Status(Code::kIOError, path + ": is a symbolic link; refusing to lock through it");
      return Errno(path, "cannot open", errno);
    }
    std::unique_ptr<File> f(new PosixFile(path, fd, false));  // closes fd from here on
    struct stat st;
    if (::fstat(fd, &st) != 0) return Errno(path, "stat failed", errno);
    if (!S_ISREG(st.st_mode)) return Status(Code::kIOError, path + ": not a regular file; cannot lock it");
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int r;
    do {
      r = ::flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
    } while (r != 0 && errno == EINTR);
    if (r != 0) {
      if (errno == EWOULDBLOCK) return Status(Code::kBusy, path + ": locked by another holder");
      return Errno(path, "cannot lock", errno);
    }
    return std::unique_ptr<LockedFile>(new PosixLockedFile(std::move(f)));
  }

  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    mode_t perm = 0644;
    switch (mode) {
      case OpenMode::kRead: flags |= O_RDONLY; break;
      case OpenMode::kReadWrite: flags |= O_RDWR; break;
      case OpenMode::kCreate: flags |= O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW; break;
      case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, perm = 0600; break;
      case OpenMode::kResume: flags |= O_RDWR | O_NOFOLLOW | O_NONBLOCK; break;
    }
    int fd = ::open(path.c_str(), flags, perm);
    if (fd < 0) {
      if (errno == ELOOP && (flags & O_NOFOLLOW))
        return Status(Code::kIOError, path + ": is a symbolic link; refusing to write through it");
      return Errno(path, mode == OpenMode::kCreateNew ? "cannot create" : "cannot open", errno);
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int e = errno;
      ::close(fd);
      return Errno(path, "stat failed", e);
    }
    if (S_ISDIR(st.st_mode)) {
      ::close(fd);
      return Status(Code::kInvalidArgument, path + ": is a directory");
    }
    if (mode == OpenMode::kResume && (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || st.st_nlink != 1)) {
      ::close(fd);
      return Status(Code::kIOError,
                    path + ": not a regular file of ours (owner, type or link count); refusing to resume into it");
    }
    if (mode == OpenMode::kResume) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return std::unique_ptr<File>(new PosixFile(path, fd, S_ISBLK(st.st_mode)));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno(to, "rename failed", errno);
    return Status::Ok();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno(path, "remove failed", errno);
    return Status::Ok();
  }

  Status SyncDirOf(const std::string& path) override {
    std::string dir = ".";
    size_t slash = path.rfind('/');
    if (slash == 0)
      dir = "/";
    else if (slash != std::string::npos)
      dir = path.substr(0, slash);
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno(dir, "cannot open directory", errno);
    int r = ::fsync(fd);
    int e = errno;
    ::close(fd);
    if (r != 0) return Errno(dir, "fsync failed", e);
    return Status::Ok();
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status MakeDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) return Errno(path, "cannot create directory", errno);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Errno(dir, "cannot list directory", errno);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
  }

  std::string Stamp(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return "";
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
           std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  }

  bool IsBlockDevice(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
  }
};

}  // namespace

Env* Env::Posix() {
  static PosixEnv* env = new PosixEnv;
  return env;
}

Status FdStream::Read(void* buf, size_t n, size_t* got) {
  return ReadFully(name(), buf, n, got, [&](char* p, size_t len, size_t) { return ::read(fd_, p, len); });
}

}  // namespace ddl
