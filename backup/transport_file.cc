// transport_file.cc - file:///dir: the repository is a local directory
// (or a mounted network filesystem). Objects are written to a temporary
// name, synced and renamed, so a reader sees all of an object or none.
// Temporary names are CreateTempFile's (".NAME.<16 random hex>.tmp",
// O_EXCL|O_NOFOLLOW), so nothing planted at a guessable name is followed.
// CreateSmall link()s its synced temp file to the name: EEXIST means
// another writer has it (kExists), atomically, on any POSIX file system.
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "backup/transport.h"
#include "backup/transport_internal.h"

namespace ddl {

namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Copies src[from, from+len) to dst at dst_from, in 1 MiB pieces, paced to
// limit_rate and reporting progress.
Status Copy(File* src, uint64_t from, File* dst, uint64_t dst_from, uint64_t len, const NetOptions& o,
            uint64_t* moved) {
  std::vector<char> buf(1 << 20);
  const auto start = std::chrono::steady_clock::now();
  uint64_t done = 0;
  while (done < len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - done));
    size_t got = 0;
    DDL_RETURN_IF_ERROR(src->ReadAt(from + done, buf.data(), n, &got));
    if (got != n) return Truncated(src->name() + ": ended at byte " + std::to_string(from + done + got));
    DDL_RETURN_IF_ERROR(dst->WriteAt(dst_from + done, buf.data(), n));
    done += n;
    *moved = done;
    if (o.progress) o.progress(done);
    if (o.limit_rate) {
      auto due = start + std::chrono::duration<double>(double(done) / double(o.limit_rate));
      std::this_thread::sleep_until(due);
    }
  }
  return Status::Ok();
}

class FileTransport : public Transport {
 public:
  explicit FileTransport(std::string root) : root_(std::move(root)), env_(Env::Posix()) {}

  std::string Describe(const std::string& key) const override { return "file://" + Path(key); }

  Result<uint64_t> Size(const std::string& key) override {
    struct stat st;
    if (stat(Path(key).c_str(), &st) != 0) {
      if (errno == ENOENT) return Status(Code::kNotFound, Describe(key) + ": no such object");
      return IOError(Describe(key) + ": " + std::strerror(errno));
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::string> ReadSmall(const std::string& key) override {
    if (!env_->Exists(Path(key))) return Status(Code::kNotFound, Describe(key) + ": no such object");
    return ReadSmallFile(env_, Path(key), kMaxSmallObject);
  }

  // The tag is taken from the file opened (fstat), so the data read is
  // the data tagged: a rename of a new object between the two cannot mix them.
  Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) override {
    DDL_RETURN_IF_ERROR(CheckTag(tag, Describe(key)));
    if (!env_->Exists(Path(key))) return Status(Code::kNotFound, Describe(key) + ": no such object");
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env_->Open(Path(key), OpenMode::kRead));
    struct stat st;
    if (fstat(f->Descriptor(), &st) != 0) return IOError(Describe(key) + ": " + std::strerror(errno));
    SmallRead out;
    out.tag = std::to_string(uint64_t(st.st_mtim.tv_sec) * 1000000000ull + uint64_t(st.st_mtim.tv_nsec)) + "-" +
              std::to_string(st.st_size) + "-" + std::to_string(st.st_ino);
    if (!tag.empty() && tag == out.tag) {
      out.changed = false;
      return out;
    }
    if (uint64_t(st.st_size) > kMaxSmallObject)
      return Corruption(Describe(key) + ": unexpectedly large (" + std::to_string(st.st_size) + " bytes)");
    out.data.resize(size_t(st.st_size));
    DDL_RETURN_IF_ERROR(f->ReadExact(0, out.data.data(), out.data.size()));
    return out;
  }

  Status CreateSmall(const std::string& key, const std::string& data) override {
    const std::string path = Path(key);
    DDL_RETURN_IF_ERROR(MakeDirs(DirOf(path)));
    std::string tmp;
    Status s;
    {
      DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, CreateTempFile(env_, path, &tmp));
      s = f->WriteAt(0, data.data(), data.size());
      if (s.ok()) s = f->Sync();
    }
    if (s.ok() && link(tmp.c_str(), path.c_str()) != 0) {
      s = errno == EEXIST ? Status(Code::kExists, Describe(key) + ": exists already")
                          : IOError(Describe(key) + ": cannot create: " + std::strerror(errno));
    }
    env_->Remove(tmp);
    if (!s.ok()) return s;
    return env_->SyncDirOf(path);
  }

  Status WriteSmall(const std::string& key, const std::string& data) override {
    DDL_RETURN_IF_ERROR(MakeDirs(DirOf(Path(key))));
    return WriteFileAtomic(env_, Path(key), data);
  }

  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o, TransferStats* st) override {
    const std::string path = Path(key);
    DDL_RETURN_IF_ERROR(MakeDirs(DirOf(path)));
    std::string tmp;
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> out, CreateTempFile(env_, path, &tmp));
    Status s = Copy(src, 0, out.get(), 0, size, o, &st->bytes_transferred);
    if (s.ok()) s = out->Sync();
    out.reset();
    if (s.ok()) s = env_->Rename(tmp, path);
    if (s.ok()) s = env_->SyncDirOf(path);
    if (!s.ok()) env_->Remove(tmp);
    return s;
  }

  Status Download(const std::string& key, uint64_t expected, File* dst, uint64_t have, const NetOptions& o,
                  TransferStats* st) override {
    const std::string path = Path(key);
    if (!env_->Exists(path)) return Status(Code::kNotFound, Describe(key) + ": no such object");
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> in, env_->Open(path, OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(uint64_t size, in->Size());
    if (size > expected)
      return Corruption(Describe(key) + ": is " + std::to_string(size) + " bytes, more than the " +
                        std::to_string(expected) + " expected; not copied");
    if (have > size) have = 0;
    DDL_RETURN_IF_ERROR(dst->Truncate(have));
    st->resumed_from = have;
    return Copy(in.get(), have, dst, have, size - have, o, &st->bytes_transferred);
  }

  Result<std::vector<std::string>> List(const std::string& dir) override {
    std::vector<std::string> names;
    DIR* d = opendir(Path(dir).c_str());
    if (!d) {
      if (errno == ENOENT) return Status(Code::kNotFound, Describe(dir) + ": no such directory");
      return IOError(Describe(dir) + ": " + std::strerror(errno));
    }
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;  // ., .., temporary files
      if (names.size() == kMaxListNames) {
        closedir(d);
        return IOError(Describe(dir) + ": holds more than " + std::to_string(kMaxListNames) + " names");
      }
      names.emplace_back(e->d_name);
    }
    closedir(d);
    return names;
  }

  Status Remove(const std::string& key) override {
    if (unlink(Path(key).c_str()) != 0 && errno != ENOENT)
      return IOError(Describe(key) + ": cannot remove: " + std::strerror(errno));
    return Status::Ok();
  }

 private:
  std::string Path(const std::string& key) const { return root_ + "/" + key; }

  std::string root_;
  Env* env_;
};

}  // namespace

Result<std::unique_ptr<Transport>> OpenFileTransport(const std::string& url) {
  std::string path = url.substr(7);  // after file://
  if (path.compare(0, 9, "localhost") == 0) path = path.substr(9);
  if (path.empty() || path[0] != '/')
    return InvalidArgument(RedactUrl(url) + ": a file URL needs an absolute path (file:///dir)");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return std::unique_ptr<Transport>(new FileTransport(path));
}

}  // namespace ddl
