// attachments.cc - attachment records under /run/ddloop.
#include "ddloop/attachments.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "deltafile/hash.h"
#include "deltafile/io.h"

namespace ddl::cli {

namespace {

std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// Mount points in /proc/self/mountinfo use octal escapes for spaces etc.
std::string Unescape(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      o.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8)));
      i += 3;
    } else {
      o.push_back(s[i]);
    }
  }
  return o;
}

}  // namespace

std::string AttachRoot() {
  const char* e = std::getenv("DDLOOP_RUN_DIR");
  return e && *e ? e : "/run/ddloop";
}

bool IsMountPoint(const std::string& dir) {
  const std::string want = RealPath(dir);
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string id, parent, devno, root, mp;
    in >> id >> parent >> devno >> root >> mp;
    if (Unescape(mp) == want) return true;
  }
  return false;
}

bool Attachment::ServerAlive() const {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return cmd.find("mount") != std::string::npos && cmd.find(dir) != std::string::npos;
}

bool Attachment::FuseMounted() const { return IsMountPoint(FuseMount()); }
bool Attachment::FsMounted() const { return !fs_mount.empty() && IsMountPoint(fs_mount); }

Result<Attachment> NewAttachment() {
  const std::string root = AttachRoot();
  ::mkdir(root.c_str(), 0700);
  for (int attempt = 0; attempt < 10; attempt++) {
    Attachment a;
    a.id = "ddl-" + Uuid::Random().ToString().substr(0, 8);
    a.dir = root + "/" + a.id;
    if (::mkdir(a.dir.c_str(), 0700) != 0) continue;
    if (::mkdir(a.FuseMount().c_str(), 0700) != 0) return IOError(a.FuseMount() + ": cannot create");
    a.created = static_cast<uint64_t>(time(nullptr));
    return a;
  }
  return IOError(root + ": cannot create an attachment directory");
}

Status SaveAttachment(const Attachment& a) {
  std::ostringstream o;
  o << "id " << a.id << "\nkind " << a.kind << "\nloop " << a.loop << "\nfs_mount " << a.fs_mount << "\nbase " << a.base << "\ncow " << a.cow
    << "\npid " << a.pid << "\ncreated " << a.created << "\n";
  for (const auto& d : a.deltas) o << "delta " << d << "\n";
  if (!a.volume.empty()) o << "volume " << a.volume << "\nsnapshot " << a.snapshot << "\n";
  return WriteFileAtomic(Env::Posix(), a.dir + "/state", o.str());
}

static bool LoadAttachment(const std::string& dir, Attachment* a) {
  std::ifstream f(dir + "/state");
  if (!f) return false;
  a->dir = dir;
  std::string line;
  while (std::getline(f, line)) {
    size_t sp = line.find(' ');
    std::string k = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (k == "id") a->id = v;
    else if (k == "loop") a->loop = v;
    else if (k == "kind") a->kind = v;
    else if (k == "fs_mount") a->fs_mount = v;
    else if (k == "base") a->base = v;
    else if (k == "cow") a->cow = v;
    else if (k == "pid") a->pid = std::atoi(v.c_str());
    else if (k == "created") a->created = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "delta") a->deltas.push_back(v);
    else if (k == "volume") a->volume = v;
    else if (k == "snapshot") a->snapshot = v;
  }
  return !a->id.empty();
}

std::vector<Attachment> ListAttachments() {
  std::vector<Attachment> out;
  DIR* d = ::opendir(AttachRoot().c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("ddl-", 0) != 0) continue;
    Attachment a;
    if (LoadAttachment(AttachRoot() + "/" + name, &a)) out.push_back(a);
  }
  ::closedir(d);
  return out;
}

Result<Attachment> FindAttachment(const std::string& what) {
  const std::string real = RealPath(what);
  for (const Attachment& a : ListAttachments()) {
    if (a.id == what || a.loop == what || a.dir == real || a.FuseMount() == real ||
        (!a.fs_mount.empty() && a.fs_mount == real))
      return a;
  }
  return Status(Code::kNotFound, what + ": not attached by ddloop (see ddloop list)");
}

}  // namespace ddl::cli

#include <sys/mount.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include "ddloop/exit_codes.h"
#include "ddloop/kernel_device.h"
#include "ddloop/loop_device.h"
#include "ddloop/run_program.h"

namespace ddl::cli {

Status Teardown(const Attachment& a, bool force, std::vector<std::string>* steps) {
  if (a.FsMounted()) {
    if (::umount2(a.fs_mount.c_str(), 0) != 0) {
      if (errno == EBUSY && !force)
        return Status(Code::kIOError, a.fs_mount + ": filesystem is busy; close what uses it, or detach --force");
      if (::umount2(a.fs_mount.c_str(), MNT_DETACH) != 0)
        return IOError(a.fs_mount + ": cannot unmount: " + std::strerror(errno));
      steps->push_back("unmounted " + a.fs_mount + " (lazily: it was busy)");
    } else {
      steps->push_back("unmounted " + a.fs_mount);
    }
  }
  if (a.kernel()) {
    if (!a.loop.empty()) {
      DDL_RETURN_IF_ERROR(KernelDetach(a.loop));
      steps->push_back("removed " + a.loop);
    }
  } else if (!a.loop.empty() && LoopBackingFile(a.loop).rfind(a.dir, 0) == 0) {
    DDL_RETURN_IF_ERROR(LoopDetach(a.loop));
    steps->push_back("released " + a.loop);
  }
  if (a.FuseMounted()) {
    if (::umount2(a.FuseMount().c_str(), 0) != 0 && ::umount2(a.FuseMount().c_str(), MNT_DETACH) != 0)
      return IOError(a.FuseMount() + ": cannot unmount: " + std::strerror(errno));
    steps->push_back("unmounted " + a.FuseMount());
  }
  // A volume's server closes the volume (flush, journal marked clean) once
  // its FUSE mount is gone: give it time before asking it to stop.
  for (int i = 0; i < 300 && !a.volume.empty() && a.ServerAlive(); i++) usleep(100000);
  if (a.ServerAlive()) {
    ::kill(a.pid, SIGTERM);
    for (int i = 0; i < 50 && a.ServerAlive(); i++) usleep(100000);
    if (a.ServerAlive()) ::kill(a.pid, SIGKILL);
    steps->push_back("stopped server " + std::to_string(a.pid));
  }
  for (const char* f : {"/state", "/log", "/pid"}) ::unlink((a.dir + f).c_str());
  if (auto names = Env::Posix()->ListDir(a.dir); names.ok())  // a state temp file left by a crash
    for (const std::string& n : *names)
      if (n.compare(0, 7, ".state.") == 0) ::unlink((a.dir + "/" + n).c_str());
  ::rmdir(a.FuseMount().c_str());
  if (::rmdir(a.dir.c_str()) != 0 && errno != ENOENT)
    return IOError(a.dir + ": cannot remove: " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace ddl::cli

namespace ddl::cli {

Status CheckMountFsDir(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  if (IsMountPoint(dir)) return InvalidArgument(dir + ": something is already mounted there");
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return InvalidArgument(dir + ": not a directory");
  return Status::Ok();
}

Status StartServer(const std::vector<std::string>& argv, Attachment* a) {
  std::string err;
  int rc = RunProgram(argv, &err);
  if (rc != 0) {
    while (!err.empty() && err.back() == '\n') err.pop_back();
    std::string line = err.substr(err.rfind('\n') + 1);
    if (rc == ExitCodeFor(Code::kBusy)) {
      // A lock the server needs is held (an apply on the base, another
      // server on the volume): the same kBusy, and the same one line naming
      // the file, as when attach's own check meets it.
      // Its line is "ddloop SUBCOMMAND: FILE: ..."; ours starts with FILE.
      size_t colon = line.find(": ");
      if (line.compare(0, 7, "ddloop ") == 0 && colon != std::string::npos) line.erase(0, colon + 2);
      return Status(Code::kBusy, line);
    }
    return IOError("cannot start the FUSE server: " + line);
  }
  // The server writes its PID once it has daemonized; wait for it.
  for (int i = 0; i < 100 && a->pid <= 0; i++) {
    std::ifstream pf(a->dir + "/pid");
    if (!(pf >> a->pid)) a->pid = 0;
    if (a->pid <= 0) usleep(50000);
  }
  if (a->pid <= 0) return IOError(a->dir + "/pid: the FUSE server did not report its PID");
  return SaveAttachment(*a);
}

namespace {

Status MountFs(const std::string& dev, const std::string& dir, bool writable) {
  std::string err;
  if (writable) {
    if (RunProgram({"mount", dev, dir}, &err) == 0) return Status::Ok();
  } else {
    if (RunProgram({"mount", "-o", "ro", dev, dir}, &err) == 0) return Status::Ok();
    err.clear();
    if (RunProgram({"mount", "-o", "ro,norecovery", dev, dir}, &err) == 0) return Status::Ok();
  }
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return IOError(dir + ": cannot mount the filesystem on " + dev + ": " + err.substr(0, err.find('\n')));
}

}  // namespace

Status BindAndMount(Attachment* a, bool writable, const std::string& mount_fs) {
  if (a->loop.empty()) {
    DDL_ASSIGN_OR_RETURN(a->loop, LoopAttach(a->FuseMount() + "/disk", !writable, "ddloop:" + a->id));
    DDL_RETURN_IF_ERROR(SaveAttachment(*a));
  }
  if (mount_fs.empty()) return Status::Ok();
  DDL_RETURN_IF_ERROR(MountFs(a->loop, mount_fs, writable));
  char buf[PATH_MAX];
  a->fs_mount = ::realpath(mount_fs.c_str(), buf) ? std::string(buf) : AbsolutePath(mount_fs);
  return SaveAttachment(*a);
}

}  // namespace ddl::cli
