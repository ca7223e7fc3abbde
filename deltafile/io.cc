// io.cc - the parts of io.h that do not depend on an implementation.
#include <vector>

#include "deltafile/io.h"

namespace ddl {

Status File::ZeroRange(uint64_t off, uint64_t len) {
  static const std::vector<uint8_t> zeros(1 << 20, 0);
  while (len > 0) {
    size_t n = len < zeros.size() ? static_cast<size_t>(len) : zeros.size();
    DDL_RETURN_IF_ERROR(WriteAt(off, zeros.data(), n));
    off += n;
    len -= n;
  }
  return Status::Ok();
}

Status File::ReadExact(uint64_t off, void* buf, size_t n) {
  size_t got = 0;
  DDL_RETURN_IF_ERROR(ReadAt(off, buf, n, &got));
  if (got != n)
    return Truncated(name() + ": unexpected end of file at byte " + std::to_string(off + got));
  return Status::Ok();
}

Status FileStream::Read(void* buf, size_t n, size_t* got) {
  DDL_RETURN_IF_ERROR(f_->ReadAt(pos_, buf, n, got));
  pos_ += *got;
  return Status::Ok();
}

Status WriteFileAtomic(Env* env, const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(tmp, OpenMode::kCreate));
    DDL_RETURN_IF_ERROR(f->WriteAt(0, data.data(), data.size()));
    DDL_RETURN_IF_ERROR(f->Sync());
  }
  DDL_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDirOf(path);
}

Result<std::string> ReadSmallFile(Env* env, const std::string& path, size_t max) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  if (size > max) return Corruption(path + ": unexpectedly large (" + std::to_string(size) + " bytes)");
  std::string s(size, '\0');
  DDL_RETURN_IF_ERROR(f->ReadExact(0, s.data(), s.size()));
  return s;
}

}  // namespace ddl
