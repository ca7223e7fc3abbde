// apply_state.cc - encoding and atomic storage of ApplyState.
#include "backup/apply_state.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "deltafile/text_record.h"

namespace ddl {

namespace {

// The on-disk name "replica state" is kept: files written by earlier
// versions have this magic, and messages say "damaged replica state".
const TextFormat& StateFormat() {
  static const TextFormat f = [] {
    TextFormat t;
    t.magic = "ddloop-replica-state 1";
    t.what = "replica state";
    t.max_bytes = kApplyStateMax;
    t.max_line = 16384;  // "image" holds a path of up to 4096 bytes, escaped (3 bytes each at most)
    t.max_lines = 32;
    return t;
  }();
  return f;
}

}  // namespace

Result<std::string> ApplyState::Encode(const std::string& name) const {
  TextWriter w(StateFormat());
  w.Add("state", phase == Phase::kAt ? "at" : "applying");
  w.AddUuid("volume_uuid", volume_uuid);
  w.AddU64("volume_size", volume_size);
  w.AddU64("chunk_shift", chunk_shift);
  if (!image.empty()) w.Add("image", image);
  w.AddUuid("current_snapshot", current.snapshot);
  w.AddFingerprint("current_fingerprint", current.fingerprint);
  if (phase == Phase::kAt) {
    w.Add("image_stamp", stamp.empty() ? "-" : stamp);
  } else {
    w.AddUuid("target_snapshot", target.snapshot);
    w.AddFingerprint("target_fingerprint", target.fingerprint);
    w.AddHex64("delta_header_csum", delta_csum);
    w.AddU64("done_records", done_records);
  }
  return w.Finish(name);
}

Result<ApplyState> ApplyState::Decode(const std::string& text, const std::string& name) {
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(text, name, StateFormat()));
  ApplyState s;
  std::string state;
  DDL_RETURN_IF_ERROR(r.GetString("state", &state));
  if (state == "at")
    s.phase = Phase::kAt;
  else if (state == "applying")
    s.phase = Phase::kApplying;
  else
    return r.Error("unknown state");
  DDL_RETURN_IF_ERROR(r.GetUuid("volume_uuid", &s.volume_uuid));
  DDL_RETURN_IF_ERROR(r.GetU64("volume_size", &s.volume_size));
  uint64_t v = 0;
  DDL_RETURN_IF_ERROR(r.GetU64("chunk_shift", &v));
  if (v > 63) return r.Error("chunk_shift " + std::to_string(v) + " is too large");
  s.chunk_shift = static_cast<uint32_t>(v);
  if (r.Has("image")) {
    DDL_RETURN_IF_ERROR(r.GetString("image", &s.image));
    // EscapeStateName's alphabet: one token, no space or newline.
    static const char kToken[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%";
    if (s.image.empty() || s.image.find_first_not_of(kToken) != std::string::npos) return r.Error("image");
  }
  DDL_RETURN_IF_ERROR(r.GetUuid("current_snapshot", &s.current.snapshot));
  DDL_RETURN_IF_ERROR(r.GetFingerprint("current_fingerprint", &s.current.fingerprint));
  if (s.phase == Phase::kAt) {
    DDL_RETURN_IF_ERROR(r.GetString("image_stamp", &s.stamp));
    if (s.stamp == "-") s.stamp.clear();
  } else {
    DDL_RETURN_IF_ERROR(r.GetUuid("target_snapshot", &s.target.snapshot));
    DDL_RETURN_IF_ERROR(r.GetFingerprint("target_fingerprint", &s.target.fingerprint));
    DDL_RETURN_IF_ERROR(r.GetHex64("delta_header_csum", &s.delta_csum));
    DDL_RETURN_IF_ERROR(r.GetU64("done_records", &s.done_records));
  }
  return s;
}

std::string EscapeStateName(const std::string& key) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < key.size(); i++) {
    unsigned char c = static_cast<unsigned char>(key[i]);
    bool plain = std::isalnum(c) || c == '-' || c == '_' || (c == '.' && i > 0);
    if (plain && c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string BlockDeviceKey(const std::string& dev) {
  struct stat st;
  if (::stat(dev.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return "";
  const std::string num = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  const std::string sys = "/sys/dev/block/" + num;
  std::string uuid;
  if (std::FILE* f = std::fopen((sys + "/dm/uuid").c_str(), "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, f)) uuid = buf;
    std::fclose(f);
    while (!uuid.empty() && (uuid.back() == '\n' || uuid.back() == ' ')) uuid.pop_back();
  }
  if (!uuid.empty()) return "dm-uuid-" + uuid;
  std::string name;
  char buf[PATH_MAX];
  ssize_t n = ::readlink(sys.c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    name.assign(buf, static_cast<size_t>(n));
    name = name.substr(name.rfind('/') + 1);
  }
  return "block-" + num + (name.empty() ? "" : "-" + name);
}

std::string ImageIdentity(Env* env, const std::string& image) {
  if (env != Env::Posix()) return image;
  std::string key = BlockDeviceKey(image);
  if (!key.empty()) return key;
  char buf[PATH_MAX];
  if (::realpath(image.c_str(), buf) != nullptr) return buf;
  // Not there yet (a seed creates it): the directory's canonical path.
  size_t slash = image.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : image.substr(0, slash);
  std::string base = slash == std::string::npos ? image : image.substr(slash + 1);
  if (base.empty() || ::realpath(dir.c_str(), buf) == nullptr) return image;
  return std::string(buf) + (std::strcmp(buf, "/") == 0 ? "" : "/") + base;
}

std::string DefaultStatePath(Env* env, const std::string& image) {
  if (env->IsBlockDevice(image)) {
    ::mkdir("/var/lib/ddloop", 0755);
    ::mkdir("/var/lib/ddloop/replica", 0755);
    return "/var/lib/ddloop/replica/" + EscapeStateName(BlockDeviceKey(image)) + ".state";
  }
  return ImageIdentity(env, image) + ".ddloop-state";
}

Status LoadApplyState(Env* env, const std::string& path, ApplyState* s, bool* found) {
  *found = false;
  if (!env->Exists(path)) return Status::Ok();
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, path, kApplyStateMax));
  DDL_ASSIGN_OR_RETURN(*s, ApplyState::Decode(text, path));
  *found = true;
  return Status::Ok();
}

Status SaveApplyState(Env* env, const std::string& path, const ApplyState& s) {
  DDL_ASSIGN_OR_RETURN(std::string text, s.Encode(path));
  return WriteFileAtomic(env, path, text);
}

}  // namespace ddl
