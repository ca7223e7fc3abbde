#include "replica/replica_dir.h"

#include <cctype>

#include "deltafile/text_record.h"
#include "snapcore/volume.h"

namespace ddl::replica {

namespace {

TextFormat ConfigFormat() {
  TextFormat f;
  f.magic = "ddloop-replica-config 1";
  f.what = "replica config";
  f.repeatable = {"forward"};
  return f;
}

TextFormat StateFormat() {
  TextFormat f;
  f.magic = "ddloop-replica-sync-state 1";
  f.what = "replica state";
  f.repeatable = {"forward"};
  return f;
}

// "URL SNAPSHOT-UUID FINGERPRINT UPDATED-NS NAME" (the URL has no space;
// the name, last, may).
std::string EncodeForward(const ForwardPosition& p) {
  return p.url + " " + p.at.snapshot.ToString() + " " + p.at.fingerprint.Hex() + " " + std::to_string(p.updated_ns) +
         " " + p.snapshot_name;
}

bool DecodeForward(const std::string& v, ForwardPosition* p) {
  size_t a = v.find(' ');
  size_t b = a == std::string::npos ? a : v.find(' ', a + 1);
  size_t c = b == std::string::npos ? b : v.find(' ', b + 1);
  size_t d = c == std::string::npos ? c : v.find(' ', c + 1);
  if (d == std::string::npos) return false;
  p->url = v.substr(0, a);
  p->snapshot_name = v.substr(d + 1);
  return Uuid::Parse(v.substr(a + 1, b - a - 1), &p->at.snapshot) &&
         ParseFingerprintHex(v.substr(b + 1, c - b - 1), &p->at.fingerprint) &&
         ParseDecimalU64(v.substr(c + 1, d - c - 1), &p->updated_ns);
}

}  // namespace

std::string ConfigPath(const std::string& r) { return r + "/config"; }
std::string StatePath(const std::string& r) { return r + "/state"; }
std::string LockPath(const std::string& r) { return r + "/lock"; }
std::string VolumePath(const std::string& r) { return r + "/volume"; }
std::string IncomingPath(const std::string& r) { return r + "/incoming"; }

Status CheckReplicaId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 64 && id[0] != '.';
  for (unsigned char ch : id) ok = ok && (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-');
  if (!ok)
    return InvalidArgument("replica id '" + id.substr(0, 64) +
                           "': 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'");
  return Status::Ok();
}

Status CreateReplicaVolume(Env* env, const std::string& r, const Header& h) {
  vol::CreateOptions co;
  co.size = h.volume_size;
  co.chunk_shift = h.chunk_shift;
  co.volume = h.volume_uuid;
  return vol::Volume::Create(env, VolumePath(r), co);
}

Status SaveConfig(Env* env, const std::string& r, const ReplicaConfig& c) {
  TextWriter w(ConfigFormat());
  w.Add("upstream", c.upstream);
  for (const std::string& f : c.forwards) w.Add("forward", f);
  w.Add("id", c.id);
  w.AddUuid("volume", c.volume);
  w.AddU64("created", c.created_ns);
  DDL_ASSIGN_OR_RETURN(std::string text, w.Finish(ConfigPath(r)));
  return WriteFileAtomic(env, ConfigPath(r), text);
}

Result<ReplicaConfig> LoadConfig(Env* env, const std::string& r) {
  if (!env->Exists(ConfigPath(r)))
    return Status(Code::kNotFound, r + ": not a replica directory (no " + ConfigPath(r) + "; see ddloop replica init)");
  DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, ConfigPath(r), 64 << 10));
  DDL_ASSIGN_OR_RETURN(TextRecord rec, TextRecord::Parse(text, ConfigPath(r), ConfigFormat()));
  ReplicaConfig c;
  DDL_RETURN_IF_ERROR(rec.GetString("upstream", &c.upstream));
  c.forwards = rec.All("forward");
  DDL_RETURN_IF_ERROR(rec.GetString("id", &c.id));
  DDL_RETURN_IF_ERROR(rec.GetUuid("volume", &c.volume));
  DDL_RETURN_IF_ERROR(rec.GetU64("created", &c.created_ns));
  Status id = CheckReplicaId(c.id);
  if (!id.ok()) return rec.Error(id.message());
  return c;
}

Status SaveState(Env* env, const std::string& r, const ReplicaState& s) {
  TextWriter w(StateFormat());
  w.AddU64("last_success", s.last_success_ns);
  w.AddU64("last_attempt", s.last_attempt_ns);
  w.Add("last_error", s.last_error.substr(0, 1000));
  w.Add("phase", s.phase);
  w.Add("head_tag", s.head_tag);
  w.AddU64("head_seq", s.head_seq);
  w.AddUuid("head_snapshot", s.head.snapshot);
  w.AddFingerprint("head_fingerprint", s.head.fingerprint);
  w.Add("head_name", s.head_name);
  for (const ForwardPosition& p : s.forwards) w.Add("forward", EncodeForward(p));
  DDL_ASSIGN_OR_RETURN(std::string text, w.Finish(StatePath(r)));
  return WriteFileAtomic(env, StatePath(r), text);
}

ReplicaState LoadState(Env* env, const std::string& r, const std::function<void(const std::string&)>& note) {
  ReplicaState s;
  if (!env->Exists(StatePath(r))) return s;
  auto parse = [&]() -> Status {
    DDL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(env, StatePath(r), 64 << 10));
    DDL_ASSIGN_OR_RETURN(TextRecord rec, TextRecord::Parse(text, StatePath(r), StateFormat()));
    DDL_RETURN_IF_ERROR(rec.GetU64("last_success", &s.last_success_ns));
    DDL_RETURN_IF_ERROR(rec.GetU64("last_attempt", &s.last_attempt_ns));
    DDL_RETURN_IF_ERROR(rec.GetString("last_error", &s.last_error));
    DDL_RETURN_IF_ERROR(rec.GetString("phase", &s.phase));
    DDL_RETURN_IF_ERROR(rec.GetString("head_tag", &s.head_tag));
    DDL_RETURN_IF_ERROR(rec.GetU64("head_seq", &s.head_seq));
    DDL_RETURN_IF_ERROR(rec.GetUuid("head_snapshot", &s.head.snapshot));
    DDL_RETURN_IF_ERROR(rec.GetFingerprint("head_fingerprint", &s.head.fingerprint));
    DDL_RETURN_IF_ERROR(rec.GetString("head_name", &s.head_name));
    for (const std::string& v : rec.All("forward")) {
      ForwardPosition p;
      if (!DecodeForward(v, &p)) return rec.Error("forward '" + v.substr(0, 40) + "' is not URL UUID FP NS NAME");
      s.forwards.push_back(p);
    }
    return Status::Ok();
  };
  Status st = parse();
  if (!st.ok()) {
    if (note) note(st.message() + "; rebuilding it from the volume");
    return ReplicaState();
  }
  return s;
}

Result<std::unique_ptr<ReplicaLock>> ReplicaLock::Acquire(Env* env, const std::string& r) {
  Result<std::unique_ptr<LockedFile>> f = env->LockFile(LockPath(r), true);
  if (!f.ok() && f.status().code() == Code::kBusy)
    return Status(Code::kBusy, r + ": in use (another sync, revert or init of this replica holds " + LockPath(r) + ")");
  if (!f.ok()) return f.status();
  return std::unique_ptr<ReplicaLock>(new ReplicaLock(std::move(*f)));
}

}  // namespace ddl::replica
