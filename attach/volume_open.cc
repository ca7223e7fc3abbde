// volume_open.cc - VolumeDir, ReadVolumeState, OpenLocked.
#include "attach/volume_open.h"

#include <climits>
#include <cstdlib>

#include "attach/run_program.h"
#include "snapcore/volume_manifest.h"

namespace ddl::attach {

std::string VolumeDir(const std::string& vol) {
  char buf[PATH_MAX];
  if (::realpath(vol.c_str(), buf)) return buf;
  std::string p = AbsolutePath(vol);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<vol::VolumeState> ReadVolumeState(const std::string& dir) {
  Env* env = Env::Posix();
  if (!env->Exists(vol::ManifestPath(dir))) return Status(Code::kNotFound, dir + ": not a ddloop volume (no manifest)");
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<vol::Manifest> m, vol::Manifest::Open(env, dir, false));
  return m->state();
}

Result<LockedVolume> OpenLocked(const std::string& dir, const std::string& what, const vol::OpenOptions& o) {
  DDL_RETURN_IF_ERROR(ReadVolumeState(dir).status());  // "not a volume" before creating a lock file in it
  LockedVolume lv;
  DDL_ASSIGN_OR_RETURN(lv.lock, VolumeLock::Acquire(Env::Posix(), dir, what));
  DDL_ASSIGN_OR_RETURN(lv.volume, vol::Volume::Open(Env::Posix(), dir, o));
  return lv;
}

}  // namespace ddl::attach
