// repository_head.cc - repository_head.h: the manifest, HEAD and replica
// positions.
#include "backup/repository_head.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "deltafile/text_record.h"

namespace ddl {

namespace {

constexpr const char kManifestKey[] = "ddloop-repository";
constexpr const char kHeadKey[] = "HEAD";
constexpr const char kReplicasDir[] = "replicas";

TextFormat Format(const char* magic, const char* what, bool accept_no_checksum) {
  TextFormat f;
  f.magic = magic;
  f.what = what;
  f.max_bytes = 16 << 10;
  f.max_line = 4096;
  f.max_lines = 32;
  f.accept_no_checksum = accept_no_checksum;
  return f;
}

// The old marker is the magic line alone, with no checksum line: accepted,
// but only without fields (anything more needs its checksum).
const TextFormat& ManifestFormat() {
  static const TextFormat f = Format("ddloop-repository 1", "repository manifest", true);
  return f;
}
const TextFormat& HeadFormat() {
  static const TextFormat f = Format("ddloop-head 1", "repository HEAD", false);
  return f;
}
const TextFormat& PositionFormat() {
  static const TextFormat f = Format("ddloop-replica-position 1", "replica position", false);
  return f;
}

uint64_t NowNs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// The repository's URL as messages show it.
std::string RepoUrl(Transport* t) {
  std::string u = t->Describe("");
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

std::string DefaultName(Transport* t) {
  const std::string u = RepoUrl(t);
  const size_t slash = u.rfind('/');
  return slash == std::string::npos ? u : u.substr(slash + 1);
}

std::string VolumeText(const Uuid& v) { return v.IsNil() ? "unbound (no volume UUID)" : v.ToString(); }

Status Foreign(Transport* t, const Uuid& have, const Uuid& want) {
  return Status(Code::kForeign,
                RepoUrl(t) + ": repository of volume " + VolumeText(have) + ", not " + VolumeText(want));
}

Result<std::string> EncodeManifest(Transport* t, const RepoManifest& m) {
  TextWriter w(ManifestFormat());
  w.AddU64("format", static_cast<uint64_t>(m.format));
  if (!m.volume.IsNil()) w.AddUuid("volume", m.volume);
  w.Add("name", m.name);
  w.AddU64("created", m.created_ns);
  return w.Finish(t->Describe(kManifestKey));
}

// Optional fields: absent leaves *out as it is.
Status OptionalString(const TextRecord& r, const char* key, std::string* out) {
  return r.Has(key) ? r.GetString(key, out) : Status::Ok();
}
Status OptionalU64(const TextRecord& r, const char* key, uint64_t* out) {
  return r.Has(key) ? r.GetU64(key, out) : Status::Ok();
}

Status GetIdentity(const TextRecord& r, Identity* id) {
  DDL_RETURN_IF_ERROR(r.GetUuid("snapshot", &id->snapshot));
  return r.GetFingerprint("fingerprint", &id->fingerprint);
}

void AddIdentity(TextWriter* w, const Identity& id) {
  w->AddUuid("snapshot", id.snapshot);
  w->AddFingerprint("fingerprint", id.fingerprint);
}

// An entry's target (or base) as an Identity; false when its text is not one.
bool ParseIdentity(const std::string& snapshot, const std::string& fingerprint, Identity* id) {
  return Uuid::Parse(snapshot, &id->snapshot) && ParseFingerprintHex(fingerprint, &id->fingerprint);
}

Status DecodeHead(const std::string& text, const std::string& what, RepoHead* h) {
  *h = RepoHead();
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(text, what, HeadFormat()));
  DDL_RETURN_IF_ERROR(r.GetU64("seq", &h->seq));
  DDL_RETURN_IF_ERROR(r.GetString("entry", &h->entry));
  DDL_RETURN_IF_ERROR(GetIdentity(r, &h->target));
  DDL_RETURN_IF_ERROR(OptionalString(r, "snapshot_name", &h->snapshot_name));
  DDL_RETURN_IF_ERROR(OptionalU64(r, "updated", &h->updated_ns));
  if (h->seq == 0) return r.Error("seq 0");
  if (!CheckDeltaName(h->entry, what).ok())
    return r.Error("entry '" + h->entry.substr(0, 40) + "' is not a delta name");
  return Status::Ok();
}

bool ValidReplicaId(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '.') return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; });
}

Status DecodePosition(const std::string& text, const std::string& what, ReplicaPosition* p) {
  *p = ReplicaPosition();
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(text, what, PositionFormat()));
  DDL_RETURN_IF_ERROR(r.GetString("id", &p->id));
  DDL_RETURN_IF_ERROR(GetIdentity(r, &p->at));
  DDL_RETURN_IF_ERROR(OptionalString(r, "snapshot_name", &p->snapshot_name));
  DDL_RETURN_IF_ERROR(r.GetU64("updated", &p->updated_ns));
  DDL_RETURN_IF_ERROR(OptionalU64(r, "expires", &p->expires_ns));
  if (!ValidReplicaId(p->id)) return r.Error("id '" + p->id.substr(0, 40) + "' is not [A-Za-z0-9._-]{1,64}");
  return Status::Ok();
}

// Before an unbound repository is bound to `volume`: Ok unless a readable
// catalog entry is of another volume (unreadable ones are ls's business).
Status CheckCatalogVolume(Transport* t, const Uuid& volume) {
  Result<std::vector<std::string>> names = t->List("catalog");
  if (!names.ok()) return names.status().code() == Code::kNotFound ? Status::Ok() : names.status();
  for (const std::string& n : *names) {
    Result<std::string> text = t->ReadSmall("catalog/" + n);
    CatalogEntry e;
    if (!text.ok() || !CatalogEntry::Decode(*text, t->Describe("catalog/" + n), &e).ok()) continue;
    if (e.volume_uuid != volume.ToString()) {
      Uuid have;
      if (!Uuid::Parse(e.volume_uuid, &have)) continue;
      return Status(Code::kForeign, RepoUrl(t) + ": holds " + n + " of volume " + VolumeText(have) + ", not " +
                                        VolumeText(volume) + " (an unbound repository is bound by its first push)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RepoManifest> ReadManifest(Transport* t) {
  const std::string what = t->Describe(kManifestKey);
  Result<std::string> text = t->ReadSmall(kManifestKey);
  if (!text.ok() && text.status().code() == Code::kNotFound)
    return Status(Code::kNotFound,
                  RepoUrl(t) + ": is there a repository at " + RepoUrl(t) + "? (no " + kManifestKey + ")");
  if (!text.ok()) return text.status();
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(*text, what, ManifestFormat()));
  RepoManifest m;
  m.name = DefaultName(t);
  if (!r.had_checksum() && !r.fields().empty()) return r.Error("no checksum line");
  if (!r.had_checksum()) return m;  // an older ddloop's marker
  uint64_t format = 0;
  DDL_RETURN_IF_ERROR(r.GetU64("format", &format));
  if (format != 1)
    return Status(Code::kUnsupported,
                  what + ": repository format " + std::to_string(format) + " is newer than this ddloop (format 1)");
  if (r.Has("volume")) DDL_RETURN_IF_ERROR(r.GetUuid("volume", &m.volume));
  DDL_RETURN_IF_ERROR(OptionalString(r, "name", &m.name));
  DDL_RETURN_IF_ERROR(OptionalU64(r, "created", &m.created_ns));
  return m;
}

Status EnsureManifest(Transport* t, const Uuid& volume, const std::string& name) {
  Result<RepoManifest> m = ReadManifest(t);
  if (!m.ok() && m.status().code() == Code::kNotFound) {
    RepoManifest fresh;
    fresh.volume = volume;
    fresh.name = name.empty() ? DefaultName(t) : name;
    fresh.created_ns = NowNs();
    DDL_ASSIGN_OR_RETURN(std::string text, EncodeManifest(t, fresh));
    Status made = t->CreateSmall(kManifestKey, text);
    if (made.ok()) return Status::Ok();
    if (made.code() != Code::kExists) return made;
    m = ReadManifest(t);  // another writer created it meanwhile: check theirs
  }
  if (!m.ok()) return m.status();
  if (m->volume == volume) return Status::Ok();
  if (!m->volume.IsNil()) return Foreign(t, m->volume, volume);
  // Unbound, and `volume` is not nil: bind it, the manifest's one rewrite.
  DDL_RETURN_IF_ERROR(CheckCatalogVolume(t, volume));
  RepoManifest bound = *m;
  bound.volume = volume;
  if (bound.created_ns == 0) bound.created_ns = NowNs();
  DDL_ASSIGN_OR_RETURN(std::string text, EncodeManifest(t, bound));
  DDL_RETURN_IF_ERROR(t->WriteSmall(kManifestKey, text));
  // Two first pushes of different volumes into one old repository: the
  // later write wins, and the other push learns it here.
  DDL_ASSIGN_OR_RETURN(RepoManifest now, ReadManifest(t));
  return now.volume == volume ? Status::Ok() : Foreign(t, now.volume, volume);
}

Result<RepoHead> ReadHead(Transport* t) {
  DDL_ASSIGN_OR_RETURN(std::string text, t->ReadSmall(kHeadKey));
  RepoHead h;
  DDL_RETURN_IF_ERROR(DecodeHead(text, t->Describe(kHeadKey), &h));
  return h;
}

Result<SmallRead> ReadHeadIfChanged(Transport* t, const std::string& tag, RepoHead* head) {
  DDL_ASSIGN_OR_RETURN(SmallRead r, t->ReadSmallIfChanged(kHeadKey, tag));
  if (!r.changed) return r;
  RepoHead h;
  DDL_RETURN_IF_ERROR(DecodeHead(r.data, t->Describe(kHeadKey), &h));
  *head = h;
  return r;
}

Status MoveHead(Transport* t, const CatalogEntry& e) {
  const std::string key = "catalog/" + e.name + ".entry";
  DDL_RETURN_IF_ERROR(CheckDeltaName(e.name, t->Describe(key)));
  Result<std::string> text = t->ReadSmall(key);
  if (!text.ok() && text.status().code() == Code::kNotFound)
    return Status(Code::kNotFound, t->Describe(key) + ": no delta named " + e.name + "; HEAD not moved");
  if (!text.ok()) return text.status();
  CatalogEntry stored;
  DDL_RETURN_IF_ERROR(CatalogEntry::Decode(*text, t->Describe(key), &stored));
  if (stored.checksum != e.checksum || stored.object != e.object || stored.target_snapshot != e.target_snapshot ||
      stored.target_fingerprint != e.target_fingerprint)
    return InvalidArgument(t->Describe(key) + ": is another delta than the one given; HEAD not moved");
  RepoHead h;
  h.entry = stored.name;
  if (!ParseIdentity(stored.target_snapshot, stored.target_fingerprint, &h.target))
    return Corruption(t->Describe(key) + ": its target is not a snapshot UUID and a fingerprint; HEAD not moved");
  h.snapshot_name = e.target_name.empty() ? stored.target_name : e.target_name;
  h.updated_ns = NowNs();
  Result<RepoHead> old = ReadHead(t);
  if (!old.ok() && old.status().code() != Code::kNotFound) return old.status();
  h.seq = old.ok() ? old->seq + 1 : 1;
  TextWriter w(HeadFormat());
  w.AddU64("seq", h.seq).Add("entry", h.entry);
  AddIdentity(&w, h.target);
  w.Add("snapshot_name", h.snapshot_name).AddU64("updated", h.updated_ns);
  DDL_ASSIGN_OR_RETURN(std::string out, w.Finish(t->Describe(kHeadKey)));
  return t->WriteSmall(kHeadKey, out);
}

Status WriteReplicaPosition(Transport* t, const ReplicaPosition& p) {
  const std::string key = std::string(kReplicasDir) + "/" + p.id;
  if (!ValidReplicaId(p.id))
    return InvalidArgument(RepoUrl(t) + ": replica id '" + p.id.substr(0, 80) +
                           "' is not 1 to 64 of [A-Za-z0-9._-] (not starting with '.')");
  TextWriter w(PositionFormat());
  w.Add("id", p.id);
  AddIdentity(&w, p.at);
  w.Add("snapshot_name", p.snapshot_name).AddU64("updated", p.updated_ns);
  if (p.expires_ns != 0) w.AddU64("expires", p.expires_ns);
  DDL_ASSIGN_OR_RETURN(std::string text, w.Finish(t->Describe(key)));
  return t->WriteSmall(key, text);
}

Result<std::vector<ReplicaPosition>> ListReplicaPositions(Transport* t, Status* skipped) {
  if (skipped) *skipped = Status::Ok();
  std::vector<ReplicaPosition> out;
  Result<std::vector<std::string>> names = t->List(kReplicasDir);
  if (!names.ok() && names.status().code() == Code::kNotFound) return out;
  if (!names.ok()) return names.status();
  std::sort(names->begin(), names->end());
  Status first_bad;
  size_t bad = 0;
  for (const std::string& n : *names) {
    const std::string key = std::string(kReplicasDir) + "/" + n;
    Status s;
    ReplicaPosition p;
    if (!ValidReplicaId(n)) {
      s = Corruption(t->Describe(key) + ": not a replica id");
    } else {
      Result<std::string> text = t->ReadSmall(key);
      if (!text.ok() && text.status().code() == Code::kNotFound) continue;  // removed meanwhile
      if (!text.ok() && text.status().code() != Code::kCorruption) return text.status();
      s = text.ok() ? DecodePosition(*text, t->Describe(key), &p) : text.status();
      if (s.ok() && p.id != n) s = Corruption(t->Describe(key) + ": names the replica '" + p.id + "'");
    }
    if (!s.ok()) {
      if (bad++ == 0) first_bad = s;
      continue;
    }
    out.push_back(p);
  }
  if (bad > 0 && skipped)
    *skipped = Status(Code::kCorruption, first_bad.message() + "; skipped" +
                                             (bad > 1 ? " with " + std::to_string(bad - 1) + " more" : "") + ", " +
                                             std::to_string(out.size()) + " listed");
  return out;
}

int DeltasBehind(const std::vector<CatalogEntry>& chain, const Identity& from, const Identity& head) {
  if (from == head) return 0;
  std::multimap<std::string, const CatalogEntry*> by_base;  // "snapshot/fingerprint" of the base
  for (const CatalogEntry& e : chain)
    if (!e.seed) by_base.emplace(e.base_snapshot + "/" + e.base_fingerprint, &e);
  // Breadth first from `from`; each entry is visited once, so a cycle in a
  // damaged catalog ends.
  std::deque<std::pair<std::string, int>> todo = {{from.snapshot.ToString() + "/" + from.fingerprint.Hex(), 0}};
  const std::string want = head.snapshot.ToString() + "/" + head.fingerprint.Hex();
  std::set<const CatalogEntry*> seen;
  while (!todo.empty()) {
    auto [at, depth] = todo.front();
    todo.pop_front();
    for (auto [it, end] = by_base.equal_range(at); it != end; ++it) {
      const CatalogEntry* e = it->second;
      if (!seen.insert(e).second) continue;
      const std::string target = e->target_snapshot + "/" + e->target_fingerprint;
      if (target == want) return depth + 1;
      todo.push_back({target, depth + 1});
    }
  }
  return -1;
}

}  // namespace ddl
