// io.cc - the parts of io.h that do not depend on an implementation.
#include <sys/random.h>

#include <vector>

#include "deltafile/io.h"

#include "deltafile/hex.h"

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
  if (got != n) return Truncated(name() + ": unexpected end of file at byte " + std::to_string(off + got));
  return Status::Ok();
}

Status FileStream::Read(void* buf, size_t n, size_t* got) {
  DDL_RETURN_IF_ERROR(f_->ReadAt(pos_, buf, n, got));
  pos_ += *got;
  return Status::Ok();
}

std::string RandomHex() {
  uint8_t r[8];
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = getrandom(r + got, sizeof r - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  return HexBytes(r, sizeof r);
}

Result<std::unique_ptr<File>> CreateTempFile(Env* env, const std::string& target, std::string* tmp_path) {
  const size_t slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  Status last;
  for (int attempt = 0; attempt < 16; attempt++) {
    std::string path = dir + "." + base + "." + RandomHex() + ".tmp";
    auto f = env->Open(path, OpenMode::kCreateNew);
    if (f.ok()) {
      *tmp_path = path;
      return f;
    }
    last = f.status();
    if (last.code() != Code::kExists) return last;
  }
  return last;
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
