// volume_lock.cc - VolumeLock (volume_lock.h).
#include "snapcore/volume_lock.h"

#include <unistd.h>

namespace ddl::vol {

namespace {

constexpr size_t kMaxHolderLine = 512;  // read of the description, bounded

std::string LockPath(const std::string& dir) { return dir + "/lock"; }

std::string ReadHolder(File* f) {
  std::string s(kMaxHolderLine, '\0');
  size_t got = 0;
  if (!f->ReadAt(0, &s[0], s.size(), &got).ok()) got = 0;
  s.resize(got);
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s.empty() ? "another process" : s;
}

}  // namespace

Result<std::unique_ptr<VolumeLock>> VolumeLock::Acquire(Env* env, const std::string& dir, const std::string& what) {
  auto lock = env->LockFile(LockPath(dir), true);
  if (!lock.ok()) {
    if (lock.status().code() == Code::kNotFound) return IOError(lock.status().message());  // no volume there
    if (lock.status().code() != Code::kBusy) return lock.status();
    std::string who = "another process";
    auto f = env->Open(LockPath(dir), OpenMode::kRead);
    if (f.ok()) who = ReadHolder(f.value().get());
    return Status(Code::kBusy, dir + ": in use by " + who);
  }
  std::unique_ptr<VolumeLock> l(new VolumeLock(std::move(lock.value())));
  l->Describe(what);
  return l;
}

VolumeLock::~VolumeLock() {
  // Best effort: a stale description is only shown while someone holds the lock.
  (void)lock_->file()->Truncate(0);
}

void VolumeLock::Describe(const std::string& what) {
  const std::string line = "pid " + std::to_string(::getpid()) + " (" + what + ")\n";
  File* f = lock_->file();
  if (f->Truncate(0).ok()) (void)f->WriteAt(0, line.data(), line.size());  // best effort, as above
}

std::string VolumeLockHolder(Env* env, const std::string& dir) {
  if (!env->Exists(LockPath(dir))) return "";
  auto probe = env->LockFile(LockPath(dir), false);
  if (probe.ok() || probe.status().code() != Code::kBusy) return "";
  auto f = env->Open(LockPath(dir), OpenMode::kRead);
  return f.ok() ? ReadHolder(f.value().get()) : "another process";
}

}  // namespace ddl::vol
