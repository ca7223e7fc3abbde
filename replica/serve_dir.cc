// serve_dir.cc - DIR/current and DIR/.snapshots (serve_dir.h).
#include "replica/serve_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "deltafile/io.h"

namespace ddl::replica {

namespace {

std::string CurrentPath(const std::string& dir) { return dir + "/" + kCurrentName; }
std::string LinkTarget(const std::string& uuid) { return std::string(kSnapshotsName) + "/" + uuid; }
bool IsLinkTemp(const std::string& name) {
  const std::string head = std::string(".") + kCurrentName + ".";
  return name.size() > head.size() + 4 && name.compare(0, head.size(), head) == 0 &&
         name.compare(name.size() - 4, 4, ".tmp") == 0;
}

}  // namespace

std::string ServeOwner(const std::string& dir) { return "replica serve " + dir; }

std::string SnapshotMountDir(const std::string& dir, const std::string& uuid) {
  return dir + "/" + kSnapshotsName + "/" + uuid;
}

Status PointCurrent(const std::string& dir, const std::string& uuid) {
  Env* env = Env::Posix();
  const std::string target = LinkTarget(uuid);
  std::string tmp;
  for (int attempt = 0; tmp.empty(); attempt++) {
    std::string name = dir + "/." + kCurrentName + "." + RandomHex() + ".tmp";
    if (::symlink(target.c_str(), name.c_str()) == 0) {
      tmp = name;
    } else if (errno != EEXIST || attempt >= 10) {
      return IOError(name + ": cannot create a symbolic link: " + std::strerror(errno));
    }
  }
  if (Status s = env->Rename(tmp, CurrentPath(dir)); !s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return env->SyncDirOf(CurrentPath(dir));
}

std::string CurrentUuid(const std::string& dir) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(CurrentPath(dir).c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string link(buf, size_t(n)), head = LinkTarget("");
  if (link.compare(0, head.size(), head) != 0) return "";
  std::string uuid = link.substr(head.size());
  return uuid.find('/') == std::string::npos ? uuid : "";
}

Status RemoveCurrent(const std::string& dir) {
  Env* env = Env::Posix();
  DDL_RETURN_IF_ERROR(env->Remove(CurrentPath(dir)));
  return env->SyncDirOf(CurrentPath(dir));
}

Status CheckServeDir(const std::string& dir) {
  struct stat st;
  const std::string cur = CurrentPath(dir);
  if (::lstat(cur.c_str(), &st) == 0 && !S_ISLNK(st.st_mode))
    return InvalidArgument(cur + ": exists and is not a symbolic link; serve into a directory of its own");
  DDL_ASSIGN_OR_RETURN(std::vector<std::string> names, Env::Posix()->ListDir(dir));
  for (const std::string& n : names)
    if (IsLinkTemp(n)) ::unlink((dir + "/" + n).c_str());
  return Status::Ok();
}

}  // namespace ddl::replica
