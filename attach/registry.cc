// registry.cc - attachment records under /run/ddloop.
#include "attach/registry.h"

#include <dirent.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <ctime>

#include "attach/run_program.h"
#include "deltafile/hash.h"
#include "deltafile/io.h"
#include "deltafile/text_record.h"

namespace ddl::attach {

namespace {

// The record (text_record.h). Records written before the codec had no
// magic line and no checksum line; they are still read (an attachment made
// before an upgrade must still be detachable) and rewritten in this form.
constexpr char kMagic[] = "ddloop-attachment 1";

const TextFormat& RecordFormat() {
  static const TextFormat f = [] {
    TextFormat t;
    t.magic = kMagic;
    t.what = "attachment record";
    t.max_bytes = kMaxRecordBytes;
    t.max_line = 8192;     // "delta PATH": a path of up to PATH_MAX bytes
    t.max_lines = 100000;  // a chain of many deltas; bounded by max_bytes too
    t.repeatable = {"delta"};
    return t;
  }();
  return f;
}

const TextFormat& LegacyFormat() {
  static const TextFormat f = [] {
    TextFormat t = RecordFormat();
    t.accept_no_checksum = true;
    return t;
  }();
  return f;
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
  TextWriter w(RecordFormat());
  w.Add("id", a.id).Add("kind", a.kind).Add("loop", a.loop).Add("fs_mount", a.fs_mount).Add("base", a.base);
  w.Add("cow", a.cow).AddU64("pid", a.pid < 0 ? 0 : uint64_t(a.pid)).AddU64("created", a.created);
  for (const auto& d : a.deltas) w.Add("delta", d);
  if (!a.volume.empty()) w.Add("volume", a.volume).Add("snapshot", a.snapshot);
  if (!a.owner.empty()) w.Add("owner", a.owner);
  const std::string path = a.dir + "/state";
  DDL_ASSIGN_OR_RETURN(std::string text, w.Finish(path));
  return WriteFileAtomic(Env::Posix(), path, text);
}

Result<Attachment> LoadAttachment(const std::string& dir) {
  const std::string path = dir + "/state";
  Env* env = Env::Posix();
  if (!env->Exists(path)) return Status(Code::kNotFound, path + ": no attachment record");
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, path, kMaxRecordBytes));
  const bool legacy = text.rfind(std::string(kMagic) + "\n", 0) != 0;
  DDL_ASSIGN_OR_RETURN(TextRecord r, legacy ? TextRecord::Parse(std::string(kMagic) + "\n" + text, path, LegacyFormat())
                                            : TextRecord::Parse(text, path, RecordFormat()));
  Attachment a;
  a.dir = dir;
  DDL_RETURN_IF_ERROR(r.GetString("id", &a.id));
  if (a.id.empty()) return r.Error("empty id");
  // Optional fields: a record saved before a step is taken lacks nothing,
  // but a legacy one may.
  auto opt = [&r](const char* k, std::string* out) {
    if (const std::string* v = r.Find(k)) *out = *v;
  };
  opt("kind", &a.kind);
  opt("loop", &a.loop);
  opt("fs_mount", &a.fs_mount);
  opt("base", &a.base);
  opt("cow", &a.cow);
  opt("volume", &a.volume);
  opt("snapshot", &a.snapshot);
  opt("owner", &a.owner);
  a.deltas = r.All("delta");
  uint64_t n = 0;
  if (r.Has("pid")) {
    DDL_RETURN_IF_ERROR(r.GetU64("pid", &n));
    if (n > uint64_t(INT_MAX)) return r.Error("pid " + std::to_string(n) + " is not a process id");
    a.pid = static_cast<int>(n);
  }
  if (r.Has("created")) DDL_RETURN_IF_ERROR(r.GetU64("created", &a.created));
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
  const std::string real = ResolvedPath(what);
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
