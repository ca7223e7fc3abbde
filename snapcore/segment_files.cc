// segment_files.cc - the open-file cache and the run-coalescing reader.
#include "snapcore/segment_files.h"

#include "snapcore/volume_format.h"

namespace ddl::vol {

Result<std::shared_ptr<File>> SegmentFiles::Get(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = open_.find(id);
  if (it != open_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.second);
    return it->second.first;
  }
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env_->Open(SegmentDataPath(dir_, id), OpenMode::kRead));
  std::shared_ptr<File> sf(std::move(f));
  lru_.push_front(id);
  open_[id] = {sf, lru_.begin()};
  while (open_.size() > max_open_) {
    open_.erase(lru_.back());
    lru_.pop_back();
  }
  return sf;
}

void SegmentFiles::Drop(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = open_.find(id);
  if (it == open_.end()) return;
  lru_.erase(it->second.second);
  open_.erase(it);
}

Status CreateDataFile(Env* env, const std::string& path, uint64_t size) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kCreate));
  DDL_RETURN_IF_ERROR(f->Truncate(size));
  DDL_RETURN_IF_ERROR(f->Sync());
  return env->SyncDirOf(path);
}

Result<std::unique_ptr<File>> OpenDataFile(Env* env, const std::string& path, uint64_t size) {
  if (!env->Exists(path)) DDL_RETURN_IF_ERROR(CreateDataFile(env, path, size));
  return env->Open(path, OpenMode::kReadWrite);
}

}  // namespace ddl::vol
