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
#include <map>
#include <sstream>

#include "backup/text_fields.h"

namespace ddl {

namespace {

constexpr const char* kMagic = "ddloop-replica-state 1";

}  // namespace

std::string ApplyState::Encode() const {
  std::ostringstream o;
  o << kMagic << "\n";
  o << "state " << (phase == Phase::kAt ? "at" : "applying") << "\n";
  o << "volume_uuid " << volume_uuid.ToString() << "\n";
  o << "volume_size " << volume_size << "\n";
  o << "chunk_shift " << chunk_shift << "\n";
  if (!image.empty()) o << "image " << image << "\n";
  o << "current_snapshot " << current.snapshot.ToString() << "\n";
  o << "current_fingerprint " << current.fingerprint.Hex() << "\n";
  if (phase == Phase::kAt) {
    o << "image_stamp " << (stamp.empty() ? "-" : stamp) << "\n";
  } else {
    o << "target_snapshot " << target.snapshot.ToString() << "\n";
    o << "target_fingerprint " << target.fingerprint.Hex() << "\n";
    o << "delta_header_csum " << Hex64(delta_csum) << "\n";
    o << "done_records " << done_records << "\n";
  }
  return WithChecksumLine(o.str());
}

Result<ApplyState> ApplyState::Decode(const std::string& text, const std::string& name) {
  auto bad = [&](const std::string& what) { return Corruption(name + ": damaged replica state: " + what); };
  std::string body;
  if (const char* why = CheckChecksumLine(text, &body)) return bad(why);
  std::istringstream in(body);
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return bad("unknown format");
  std::map<std::string, std::string> kv;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos) return bad("malformed line");
    kv[line.substr(0, sp)] = line.substr(sp + 1);
  }
  ApplyState s;
  uint64_t v = 0;
  if (kv["state"] == "at") s.phase = Phase::kAt;
  else if (kv["state"] == "applying") s.phase = Phase::kApplying;
  else return bad("unknown state");
  if (!Uuid::Parse(kv["volume_uuid"], &s.volume_uuid)) return bad("volume_uuid");
  if (!ParseU64(kv["volume_size"], &s.volume_size)) return bad("volume_size");
  if (!ParseU64(kv["chunk_shift"], &v)) return bad("chunk_shift");
  s.chunk_shift = static_cast<uint32_t>(v);
  if (kv.count("image")) {
    s.image = kv["image"];
    // EscapeStateName's alphabet: one token, no space or newline.
    static const char kToken[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%";
    if (s.image.empty() || s.image.find_first_not_of(kToken) != std::string::npos) return bad("image");
  }
  if (!Uuid::Parse(kv["current_snapshot"], &s.current.snapshot)) return bad("current_snapshot");
  if (!ParseFingerprint(kv["current_fingerprint"], &s.current.fingerprint)) return bad("current_fingerprint");
  if (s.phase == Phase::kAt) {
    s.stamp = kv["image_stamp"] == "-" ? "" : kv["image_stamp"];
  } else {
    if (!Uuid::Parse(kv["target_snapshot"], &s.target.snapshot)) return bad("target_snapshot");
    if (!ParseFingerprint(kv["target_fingerprint"], &s.target.fingerprint)) return bad("target_fingerprint");
    if (!ParseHex64(kv["delta_header_csum"], &s.delta_csum)) return bad("delta_header_csum");
    if (!ParseU64(kv["done_records"], &s.done_records)) return bad("done_records");
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
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, path, 1 << 16));
  DDL_ASSIGN_OR_RETURN(*s, ApplyState::Decode(text, path));
  *found = true;
  return Status::Ok();
}

Status SaveApplyState(Env* env, const std::string& path, const ApplyState& s) {
  return WriteFileAtomic(env, path, s.Encode());
}

}  // namespace ddl
