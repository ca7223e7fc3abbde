// teardown.cc - Teardown and the probes it uses.
#include "attach/teardown.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "deltafile/io.h"

namespace ddl::attach {

bool ServerAlive(const Attachment& a, Runner* r) { return r->ServerAlive(a.pid, a.dir); }
bool FuseMounted(const Attachment& a, Runner* r) { return r->IsMountPoint(a.FuseMount()); }
bool FsMounted(const Attachment& a, Runner* r) { return !a.fs_mount.empty() && r->IsMountPoint(a.fs_mount); }

bool Healthy(const Attachment& a, Runner* r) {
  if (a.kernel()) return ::access(("/sys/block/" + a.loop.substr(a.loop.rfind('/') + 1)).c_str(), F_OK) == 0;
  return ServerAlive(a, r) && FuseMounted(a, r);
}

Status Teardown(const Attachment& a, bool force, std::vector<std::string>* steps, Runner* r) {
  if (FsMounted(a, r)) {
    if (int e = r->Unmount(a.fs_mount, false); e != 0) {
      if (e == EBUSY && !force)
        return Status(Code::kIOError, a.fs_mount + ": filesystem is busy; close what uses it, or detach --force");
      if ((e = r->Unmount(a.fs_mount, true)) != 0) return IOError(a.fs_mount + ": cannot unmount: " + std::strerror(e));
      steps->push_back("unmounted " + a.fs_mount + " (lazily: it was busy)");
    } else {
      steps->push_back("unmounted " + a.fs_mount);
    }
  }
  if (a.kernel()) {
    if (!a.loop.empty()) {
      DDL_RETURN_IF_ERROR(r->KernelDetach(a.loop));
      steps->push_back("removed " + a.loop);
    }
  } else if (!a.loop.empty() && r->LoopBackingFile(a.loop).rfind(a.dir, 0) == 0) {
    DDL_RETURN_IF_ERROR(r->LoopDetach(a.loop));
    steps->push_back("released " + a.loop);
  }
  if (FuseMounted(a, r)) {
    if (r->Unmount(a.FuseMount(), false) != 0)
      if (int e = r->Unmount(a.FuseMount(), true); e != 0)
        return IOError(a.FuseMount() + ": cannot unmount: " + std::strerror(e));
    steps->push_back("unmounted " + a.FuseMount());
  }
  // A volume's server closes the volume (flush, journal marked clean) once
  // its FUSE mount is gone: give it time before asking it to stop.
  for (int i = 0; i < 300 && !a.volume.empty() && ServerAlive(a, r); i++) usleep(100000);
  if (ServerAlive(a, r)) {
    r->Kill(a.pid, SIGTERM);
    for (int i = 0; i < 50 && ServerAlive(a, r); i++) usleep(100000);
    if (ServerAlive(a, r)) r->Kill(a.pid, SIGKILL);
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

}  // namespace ddl::attach
