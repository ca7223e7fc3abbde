// replica_state.cc - encoding and atomic storage of ReplicaState.
#include "backup/replica_state.h"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

#include "backup/text_fields.h"

namespace ddl {

namespace {

constexpr const char* kMagic = "ddloop-replica-state 1";

}  // namespace

std::string ReplicaState::Encode() const {
  std::ostringstream o;
  o << kMagic << "\n";
  o << "state " << (phase == Phase::kAt ? "at" : "applying") << "\n";
  o << "volume_uuid " << volume_uuid.ToString() << "\n";
  o << "volume_size " << volume_size << "\n";
  o << "chunk_shift " << chunk_shift << "\n";
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

Result<ReplicaState> ReplicaState::Decode(const std::string& text, const std::string& name) {
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
  ReplicaState s;
  uint64_t v = 0;
  if (kv["state"] == "at") s.phase = Phase::kAt;
  else if (kv["state"] == "applying") s.phase = Phase::kApplying;
  else return bad("unknown state");
  if (!Uuid::Parse(kv["volume_uuid"], &s.volume_uuid)) return bad("volume_uuid");
  if (!ParseU64(kv["volume_size"], &s.volume_size)) return bad("volume_size");
  if (!ParseU64(kv["chunk_shift"], &v)) return bad("chunk_shift");
  s.chunk_shift = static_cast<uint32_t>(v);
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

std::string DefaultStatePath(Env* env, const std::string& image) {
  if (!env->IsBlockDevice(image)) return image + ".ddloop-state";
  std::string flat = image;
  for (char& c : flat)
    if (c == '/') c = '_';
  ::mkdir("/var/lib/ddloop", 0755);
  ::mkdir("/var/lib/ddloop/replica", 0755);
  return "/var/lib/ddloop/replica/" + flat + ".state";
}

Status LoadReplicaState(Env* env, const std::string& path, ReplicaState* s, bool* found) {
  *found = false;
  if (!env->Exists(path)) return Status::Ok();
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, path, 1 << 16));
  DDL_ASSIGN_OR_RETURN(*s, ReplicaState::Decode(text, path));
  *found = true;
  return Status::Ok();
}

Status SaveReplicaState(Env* env, const std::string& path, const ReplicaState& s) {
  return WriteFileAtomic(env, path, s.Encode());
}

}  // namespace ddl
