// io_memory.cc - MemEnv and FaultInjectionEnv.
#include "deltafile/io_memory.h"

#include <algorithm>
#include <cstring>

namespace ddl {

namespace {

class MemFile : public File {
 public:
  MemFile(std::string name, std::shared_ptr<MemFileData> d, MemEnv* env, std::mutex* mu)
      : File(std::move(name)), d_(std::move(d)), env_(env), mu_(mu) {}

  Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) override {
    std::lock_guard<std::mutex> l(*mu_);
    *got = 0;
    if (n == 0 || off >= d_->data.size()) return Status::Ok();
    size_t k = std::min<uint64_t>(n, d_->data.size() - off);
    std::memcpy(buf, d_->data.data() + off, k);
    *got = k;
    return Status::Ok();
  }
  Status WriteAt(uint64_t off, const void* buf, size_t n) override {
    DDL_RETURN_IF_ERROR(env_->Tick().Prefix(name()));
    if (n == 0) return Status::Ok();
    std::lock_guard<std::mutex> l(*mu_);
    if (d_->data.size() < off + n) d_->data.resize(off + n);
    std::memcpy(d_->data.data() + off, buf, n);
    d_->version++;
    return Status::Ok();
  }
  Status Sync() override {
    DDL_RETURN_IF_ERROR(env_->Tick().Prefix(name()));
    std::lock_guard<std::mutex> l(*mu_);
    d_->synced = d_->data;
    return Status::Ok();
  }
  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> l(*mu_);
    return static_cast<uint64_t>(d_->data.size());
  }
  Status Truncate(uint64_t size) override {
    DDL_RETURN_IF_ERROR(env_->Tick().Prefix(name()));
    std::lock_guard<std::mutex> l(*mu_);
    d_->data.resize(size);
    d_->version++;
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemFileData> d_;
  MemEnv* env_;
  std::mutex* mu_;
};

class MemLockedFile : public LockedFile {
 public:
  MemLockedFile(MemEnv* env, std::string path, bool exclusive, std::unique_ptr<File> f)
      : env_(env), path_(std::move(path)), exclusive_(exclusive), f_(std::move(f)) {}
  ~MemLockedFile() override { env_->Unlock(path_, exclusive_); }
  File* file() override { return f_.get(); }

 private:
  MemEnv* env_;
  std::string path_;
  bool exclusive_;
  std::unique_ptr<File> f_;
};

}  // namespace

Result<std::unique_ptr<LockedFile>> MemEnv::LockFile(const std::string& path, bool exclusive) {
  auto f = Exists(path) ? Open(path, OpenMode::kReadWrite) : Open(path, OpenMode::kCreateNew);
  if (!f.ok() && f.status().code() == Code::kExists) f = Open(path, OpenMode::kReadWrite);
  if (!f.ok()) return f.status();
  std::lock_guard<std::mutex> l(lock_mu_);
  int& held = locks_[path];
  if (held < 0 || (exclusive && held > 0)) return Status(Code::kBusy, path + ": locked by another holder");
  held = exclusive ? -1 : held + 1;
  return std::unique_ptr<LockedFile>(new MemLockedFile(this, path, exclusive, std::move(f.value())));
}

void MemEnv::Unlock(const std::string& path, bool exclusive) {
  std::lock_guard<std::mutex> l(lock_mu_);
  auto it = locks_.find(path);
  if (it == locks_.end()) return;
  if (exclusive || --it->second <= 0) locks_.erase(it);
}

Result<std::unique_ptr<File>> MemEnv::Open(const std::string& path, OpenMode mode) {
  const bool create = mode == OpenMode::kCreate || mode == OpenMode::kCreateNew;
  if (create) DDL_RETURN_IF_ERROR(Tick().Prefix(path));
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (!create) return Status(Code::kNotFound, path + ": cannot open: No such file");
    it = files_.emplace(path, std::make_shared<MemFileData>()).first;
  } else if (mode == OpenMode::kCreateNew) {
    return Status(Code::kExists, path + ": cannot create: File exists");
  } else if (mode == OpenMode::kCreate) {
    it->second->data.clear();
  }
  return std::unique_ptr<File>(new MemFile(path, it->second, this, &mu_));
}

Status MemEnv::Rename(const std::string& from, const std::string& to) {
  DDL_RETURN_IF_ERROR(Tick().Prefix(to));
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return Status(Code::kNotFound, from + ": rename: no such file");
  files_[to] = it->second;
  files_.erase(from);
  return Status::Ok();
}

Status MemEnv::Remove(const std::string& path) {
  DDL_RETURN_IF_ERROR(Tick().Prefix(path));
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(path);
  return Status::Ok();
}

std::string MemEnv::Stamp(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return "";
  return std::to_string(reinterpret_cast<uintptr_t>(it->second.get())) + ":" + std::to_string(it->second->data.size()) +
         ":" + std::to_string(it->second->version);
}

namespace {
std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}
}  // namespace

Status MemEnv::SyncDirOf(const std::string& path) {
  DDL_RETURN_IF_ERROR(Tick());
  std::lock_guard<std::mutex> l(mu_);
  const std::string dir = DirOf(path);
  for (auto it = durable_.begin(); it != durable_.end();)
    it = DirOf(it->first) == dir ? durable_.erase(it) : std::next(it);
  for (const auto& kv : files_)
    if (DirOf(kv.first) == dir) durable_[kv.first] = kv.second;
  return Status::Ok();
}

Result<std::vector<std::string>> MemEnv::ListDir(const std::string& dir) {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  std::string prefix = dir + "/";
  for (const auto& kv : files_) {
    if (kv.first.compare(0, prefix.size(), prefix) != 0) continue;
    std::string rest = kv.first.substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) out.push_back(rest);
  }
  return out;
}

bool MemEnv::Exists(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  return files_.count(path) != 0;
}

void MemEnv::Put(const std::string& path, std::vector<uint8_t> bytes) {
  std::lock_guard<std::mutex> l(mu_);
  auto d = std::make_shared<MemFileData>();
  d->data = std::move(bytes);
  d->synced = d->data;
  files_[path] = d;
  durable_[path] = d;
}

std::vector<uint8_t> MemEnv::Get(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(path);
  return it == files_.end() ? std::vector<uint8_t>() : it->second->data;
}

void FaultInjectionEnv::CrashAfter(uint64_t n) {
  std::lock_guard<std::mutex> l(mu_);
  crash_at_ = ticks_ + n;
}

Status FaultInjectionEnv::Tick() {
  std::lock_guard<std::mutex> l(mu_);
  if (crashed_ || ++ticks_ >= crash_at_) {
    crashed_ = true;
    return IOError("injected crash");
  }
  return Status::Ok();
}

void FaultInjectionEnv::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(mu_);
  files_ = durable_;
  for (auto& kv : files_) {
    kv.second->data = kv.second->synced;
    kv.second->version++;
  }
  crashed_ = false;
  crash_at_ = UINT64_MAX;
}

}  // namespace ddl
