// registry.cc - attachment records under /run/ddloop.
#include "attach/registry.h"

#include <dirent.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <ctime>

#include "deltafile/hash.h"
#include "deltafile/io.h"

namespace ddl::attach {

namespace {

std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

bool ParseNumber(const std::string& v, uint64_t max, uint64_t* out) {
  if (v.empty() || v.size() > 20) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = uint64_t(c - '0');
    if (n > (max - d) / 10) return false;
    n = n * 10 + d;
  }
  *out = n;
  return true;
}

}  // namespace

std::string AttachRoot() {
  const char* e = std::getenv("DDLOOP_RUN_DIR");
  return e && *e ? e : "/run/ddloop";
}

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
  std::string o = "id " + a.id + "\nkind " + a.kind + "\nloop " + a.loop + "\nfs_mount " + a.fs_mount + "\nbase " +
                  a.base + "\ncow " + a.cow + "\npid " + std::to_string(a.pid) + "\ncreated " +
                  std::to_string(a.created) + "\n";
  for (const auto& d : a.deltas) o += "delta " + d + "\n";
  if (!a.volume.empty()) o += "volume " + a.volume + "\nsnapshot " + a.snapshot + "\n";
  return WriteFileAtomic(Env::Posix(), a.dir + "/state", o);
}

Result<Attachment> LoadAttachment(const std::string& dir) {
  const std::string path = dir + "/state";
  Env* env = Env::Posix();
  if (!env->Exists(path)) return Status(Code::kNotFound, path + ": no attachment record");
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, path, kMaxRecordBytes));
  Attachment a;
  a.dir = dir;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t sp = line.find(' ');
    std::string k = line.substr(0, sp), v = sp == std::string::npos ? "" : line.substr(sp + 1);
    uint64_t n = 0;
    if (k == "id") a.id = v;
    else if (k == "loop") a.loop = v;
    else if (k == "kind") a.kind = v;
    else if (k == "fs_mount") a.fs_mount = v;
    else if (k == "base") a.base = v;
    else if (k == "cow") a.cow = v;
    else if (k == "delta") a.deltas.push_back(v);
    else if (k == "volume") a.volume = v;
    else if (k == "snapshot") a.snapshot = v;
    else if (k == "pid" || k == "created") {
      if (!ParseNumber(v, k == "pid" ? uint64_t(INT_MAX) : UINT64_MAX, &n))
        return Status(Code::kCorruption, path + ": damaged attachment record (" + k + " '" + v + "')");
      if (k == "pid") a.pid = static_cast<int>(n);
      else a.created = n;
    }
  }
  if (a.id.empty()) return Status(Code::kCorruption, path + ": damaged attachment record (no id)");
  return a;
}

std::vector<Attachment> ListAttachments() {
  std::vector<Attachment> out;
  DIR* d = ::opendir(AttachRoot().c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.rfind("ddl-", 0) != 0) continue;
    auto a = LoadAttachment(AttachRoot() + "/" + name);
    if (a.ok()) out.push_back(std::move(*a));
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

std::vector<Attachment> VolumeAttachments(const std::string& dir) {
  std::vector<Attachment> out;
  for (const Attachment& a : ListAttachments())
    if (a.volume == dir) out.push_back(a);
  return out;
}

}  // namespace ddl::attach
