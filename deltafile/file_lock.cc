// file_lock.cc - FileLock (flock), the canonical lock node of a block
// device, and who holds a lock (from /proc/locks and /proc/PID/fd).
#include "deltafile/file_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace ddl {

namespace {

constexpr int kMaxProcs = 100000;      // processes looked at for a holder
constexpr int kMaxFdsPerProc = 65536;  // descriptors looked at per process
constexpr int kMaxLockLines = 100000;  // lines of /proc/locks read

Status Busy(const std::string& path, const std::string& why) {
  std::string who = LockHolderOf(path);
  return Status(Code::kBusy, path + ": another process is using it: " + why + (who.empty() ? "" : " (" + who + ")"));
}

bool Alive(long pid) {
  struct stat st;
  return ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0;
}

// "pid N (PROGRAM ARG1)": its program and first argument (for ddloop, the
// subcommand), bounded.
std::string Describe(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string cmd, word;
  for (int i = 0; i < 2 && std::getline(in, word, '\0'); i++) {
    size_t slash = i == 0 ? word.rfind('/') : std::string::npos;
    if (slash != std::string::npos) word = word.substr(slash + 1);
    cmd += (cmd.empty() ? "" : " ") + word;
  }
  if (cmd.size() > 100) cmd.resize(100);
  for (char& c : cmd)
    if (c == '\n' || c == '\r') c = ' ';
  return "pid " + std::to_string(pid) + (cmd.empty() ? "" : " (" + cmd + ")");
}

// The pid /proc/locks gives for a FLOCK on (dev, ino), or 0.
long FlockPid(dev_t dev, ino_t ino) {
  std::ifstream in("/proc/locks");
  char want[64];
  std::snprintf(want, sizeof want, "%02x:%02x:%lu", major(dev), minor(dev), static_cast<unsigned long>(ino));
  std::string line;
  for (int n = 0; n < kMaxLockLines && std::getline(in, line); n++) {
    if (line.find(" FLOCK ") == std::string::npos || line.find(" -> ") != std::string::npos) continue;
    char kind[16], type[16], adv[16], id[64];
    long pid = 0;
    if (std::sscanf(line.c_str(), "%*d: %15s %15s %15s %ld %63s", kind, adv, type, &pid, id) != 5) continue;
    if (std::strcmp(id, want) == 0) return pid;
  }
  return 0;
}

// A process other than us with (dev, ino) open, or 0.
long OpenerOf(dev_t dev, ino_t ino) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  long found = 0;
  int procs = 0;
  while (struct dirent* e = ::readdir(proc)) {
    if (found != 0 || ++procs > kMaxProcs) break;
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == ::getpid()) continue;
    std::string fddir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = ::opendir(fddir.c_str());
    if (fds == nullptr) continue;
    int n = 0;
    while (struct dirent* f = ::readdir(fds)) {
      if (++n > kMaxFdsPerProc) break;
      if (f->d_name[0] == '.') continue;
      struct stat st;
      if (::stat((fddir + "/" + f->d_name).c_str(), &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
        found = pid;
        break;
      }
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  return found;
}

}  // namespace

std::string LockNodeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return path;
  const std::string num = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  std::vector<std::string> candidates;
  char buf[PATH_MAX];
  ssize_t n = ::readlink(("/sys/dev/block/" + num).c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    std::string name(buf, static_cast<size_t>(n));
    name = name.substr(name.rfind('/') + 1);
    for (char& c : name)
      if (c == '!') c = '/';  // the kernel's spelling of a node in a subdirectory
    if (!name.empty() && name.find("..") == std::string::npos) candidates.push_back("/dev/" + name);
  }
  candidates.push_back("/dev/block/" + num);
  for (const std::string& c : candidates) {
    struct stat cs;
    if (::stat(c.c_str(), &cs) == 0 && S_ISBLK(cs.st_mode) && cs.st_rdev == st.st_rdev) return c;
  }
  return path;
}

std::string LockHolderOf(const std::string& path) {
  const std::string node = LockNodeOf(path);
  struct stat st;
  if (::stat(node.c_str(), &st) != 0) return "";
  long pid = FlockPid(st.st_dev, st.st_ino);
  if (pid > 0 && pid != ::getpid() && Alive(pid)) return Describe(pid);
  long opener = OpenerOf(st.st_dev, st.st_ino);
  if (opener > 0) return Describe(opener) + " has it open";
  if (pid > 0) return "no process has it open: a kernel ddloop device may hold it (see ddloop list)";
  return "";
}

Result<std::unique_ptr<FileLock>> FileLock::Acquire(const std::string& path, LockKind kind) {
  const bool excl = kind == LockKind::kExclusive;
  const std::string node = LockNodeOf(path);
  struct stat st;
  const bool blk = ::stat(node.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
  int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  if (blk && excl) flags |= O_EXCL;  // the kernel's exclusive claim
  int fd = ::open(node.c_str(), flags);
  if (fd < 0) {
    int e = errno;
    if (e == EBUSY && blk) return Busy(path, "the device is mounted or held open exclusively");
    Code c = e == ENOENT ? Code::kNotFound : Code::kIOError;
    return Status(c, path + ": cannot open to lock it: " + std::strerror(e));
  }
  int r;
  do {
    r = ::flock(fd, (excl ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) return Busy(path, "holds its lock");
    return IOError(path + ": cannot lock: " + std::strerror(e));
  }
  return std::unique_ptr<FileLock>(new FileLock(fd, node));
}

Result<std::unique_ptr<FileLock>> FileLock::AcquireOpen(const std::string& path, int fd, LockKind kind) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return IOError(path + ": stat failed: " + std::strerror(errno));
  if (S_ISBLK(st.st_mode)) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> l, Acquire(path, kind));
    struct stat ls;
    if (::fstat(l->fd(), &ls) != 0 || !S_ISBLK(ls.st_mode) || ls.st_rdev != st.st_rdev)
      return IOError(path + ": changed while being opened; refusing to write to it");
    return l;
  }
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return IOError(path + ": cannot lock: " + std::strerror(errno));
  int r;
  do {
    r = ::flock(dup, (kind == LockKind::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    int e = errno;
    ::close(dup);
    if (e == EWOULDBLOCK) return Busy(path, "holds its lock");
    return IOError(path + ": cannot lock: " + std::strerror(e));
  }
  return std::unique_ptr<FileLock>(new FileLock(dup, path));
}

FileLock::~FileLock() {
  // No LOCK_UN: that would drop the lock for every holder of the open file
  // (the kernel driver, a forked server); closing drops only our reference.
  ::close(fd_);
}

}  // namespace ddl
