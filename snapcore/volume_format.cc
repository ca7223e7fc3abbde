// volume_format.cc - encoding and validation of volume metadata.
#include "snapcore/volume_format.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "deltafile/endian.h"

namespace ddl::vol {

namespace {

// Field F of on-disk struct T, at byte offset offsetof(T, F) of a buffer.
#define AT(T, F) offsetof(T, F)

void PutUuid(uint8_t* p, const Uuid& u) { std::memcpy(p, u.b, DDL_UUID_SIZE); }
Uuid GetUuid(const uint8_t* p) {
  Uuid u;
  std::memcpy(u.b, p, DDL_UUID_SIZE);
  return u;
}
void PutHash(uint8_t* p, const ChunkHash& h) { std::memcpy(p, h.b, DDL_HASH_SIZE); }
ChunkHash GetHash(const uint8_t* p) {
  ChunkHash h;
  std::memcpy(h.b, p, DDL_HASH_SIZE);
  return h;
}

// A payload built from on-disk structs: Put<T>() appends sizeof(T) zero
// bytes and returns them for the caller to fill at AT(T, field); the pointer
// is valid until the next append, so each struct is filled before the next.
class Enc {
 public:
  template <class T>
  uint8_t* Put() {
    size_t at = s_.size();
    s_.append(sizeof(T), '\0');
    return reinterpret_cast<uint8_t*>(&s_[at]);
  }
  Enc& Bytes(const void* p, size_t n) {
    s_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string& str() { return s_; }

 private:
  std::string s_;
};

// Takes structs from a payload in order; a take past the end returns null
// and leaves ok() false.
class Dec {
 public:
  Dec(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  template <class T>
  const uint8_t* Take() {
    return Bytes(sizeof(T));
  }
  const uint8_t* Bytes(size_t k) {
    if (!ok_ || n_ - pos_ < k) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* at = p_ + pos_;
    pos_ += k;
    return at;
  }
  void Fail() { ok_ = false; }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == n_; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// A snapshot: ddl_vol_snap_head, the name, ddl_vol_snap_tail.
void PutSnap(Enc& e, const SnapshotInfo& s) {
  uint8_t* h = e.Put<ddl_vol_snap_head>();
  StoreLE64(h + AT(ddl_vol_snap_head, id), s.id);
  StoreLE32(h + AT(ddl_vol_snap_head, name_len), uint32_t(s.name.size()));
  e.Bytes(s.name.data(), s.name.size());
  uint8_t* t = e.Put<ddl_vol_snap_tail>();
  PutUuid(t + AT(ddl_vol_snap_tail, uuid), s.uuid);
  s.fingerprint.Encode(t + AT(ddl_vol_snap_tail, fingerprint));
  StoreLE64(t + AT(ddl_vol_snap_tail, create_ns), s.create_ns);
  StoreLE64(t + AT(ddl_vol_snap_tail, index_gen), s.index_gen);
  StoreLE64(t + AT(ddl_vol_snap_tail, chunks), s.chunks);
}

SnapshotInfo GetSnap(Dec& d) {
  SnapshotInfo s;
  const uint8_t* h = d.Take<ddl_vol_snap_head>();
  if (!h) return s;
  s.id = LoadLE64(h + AT(ddl_vol_snap_head, id));
  uint32_t len = LoadLE32(h + AT(ddl_vol_snap_head, name_len));
  if (len > kMaxNameLength) {
    d.Fail();
    return s;
  }
  const uint8_t* name = d.Bytes(len);
  if (!name) return s;
  s.name.assign(reinterpret_cast<const char*>(name), len);
  const uint8_t* t = d.Take<ddl_vol_snap_tail>();
  if (!t) return s;
  s.uuid = GetUuid(t + AT(ddl_vol_snap_tail, uuid));
  s.fingerprint = Fingerprint::Decode(t + AT(ddl_vol_snap_tail, fingerprint));
  s.create_ns = LoadLE64(t + AT(ddl_vol_snap_tail, create_ns));
  s.index_gen = LoadLE64(t + AT(ddl_vol_snap_tail, index_gen));
  s.chunks = LoadLE64(t + AT(ddl_vol_snap_tail, chunks));
  return s;
}

Status Bad(const std::string& what) { return Corruption("manifest record: " + what); }

// A new snapshot must have a fresh id, a unique name and a valid index.
Status CheckNewSnap(const VolumeState& s, const SnapshotInfo& n) {
  if (n.id == 0 || n.id >= s.next_id) return Bad("snapshot id out of range");
  if (!s.snaps.empty() && n.id <= s.snaps.back().id) return Bad("snapshot ids out of order");
  if (n.name.empty() || s.Find(n.name) >= 0) return Bad("snapshot name empty or duplicate");
  if (n.index_gen == 0 || n.chunks > s.chunk_count()) return Bad("snapshot index out of range");
  return Status::Ok();
}

}  // namespace

uint64_t VolumeState::chunk_len(uint64_t c) const {
  uint64_t start = c << chunk_shift;
  return std::min(chunk_size(), size - start);
}

int VolumeState::Find(const std::string& key) const {
  for (size_t i = 0; i < snaps.size(); i++)
    if (snaps[i].name == key) return int(i);
  if (key.size() > 1 && key[0] == '#') {
    for (size_t i = 0; i < snaps.size(); i++)
      if ("#" + std::to_string(snaps[i].id) == key) return int(i);
  }
  Uuid u;
  if (Uuid::Parse(key, &u)) {
    for (size_t i = 0; i < snaps.size(); i++)
      if (snaps[i].uuid == u) return int(i);
  }
  return -1;
}

int VolumeState::IndexOfId(uint64_t id) const {
  for (size_t i = 0; i < snaps.size(); i++)
    if (snaps[i].id == id) return int(i);
  return -1;
}

Identity VolumeState::ParentIdentity() const { return snaps.empty() ? OriginIdentity() : snaps.back().identity(); }

std::string EncodeCheckpoint(const VolumeState& s) {
  Enc e;
  uint8_t* c = e.Put<ddl_vol_checkpoint>();
  StoreLE64(c + AT(ddl_vol_checkpoint, volume_size), s.size);
  StoreLE32(c + AT(ddl_vol_checkpoint, chunk_shift), s.chunk_shift);
  StoreLE64(c + AT(ddl_vol_checkpoint, create_ns), s.create_ns);
  PutUuid(c + AT(ddl_vol_checkpoint, origin_uuid), s.origin_uuid);
  s.origin_fp.Encode(c + AT(ddl_vol_checkpoint, origin_fingerprint));
  StoreLE64(c + AT(ddl_vol_checkpoint, head_id), s.head_id);
  StoreLE64(c + AT(ddl_vol_checkpoint, next_id), s.next_id);
  StoreLE64(c + AT(ddl_vol_checkpoint, revert_target), s.revert_target);
  StoreLE64(c + AT(ddl_vol_checkpoint, revert_head), s.revert_head);
  StoreLE64(c + AT(ddl_vol_checkpoint, snap_count), s.snaps.size());
  for (const SnapshotInfo& snap : s.snaps) PutSnap(e, snap);
  return e.str();
}

std::string EncodeSnapshotCreate(const SnapshotInfo& snap, uint64_t new_head, uint64_t next_id) {
  Enc e;
  PutSnap(e, snap);
  uint8_t* t = e.Put<ddl_vol_snapshot_create_tail>();
  StoreLE64(t + AT(ddl_vol_snapshot_create_tail, new_head), new_head);
  StoreLE64(t + AT(ddl_vol_snapshot_create_tail, next_id), next_id);
  return e.str();
}

std::string EncodeSnapshotDelete(const DeleteRecord& d) {
  Enc e;
  uint8_t* r = e.Put<ddl_vol_snapshot_delete>();
  StoreLE64(r + AT(ddl_vol_snapshot_delete, id), d.id);
  StoreLE32(r + AT(ddl_vol_snapshot_delete, mode), uint32_t(d.mode));
  StoreLE64(r + AT(ddl_vol_snapshot_delete, next_gen), d.next_gen);
  StoreLE64(r + AT(ddl_vol_snapshot_delete, next_chunks), d.next_chunks);
  d.origin_fp.Encode(r + AT(ddl_vol_snapshot_delete, origin_fingerprint));
  PutUuid(r + AT(ddl_vol_snapshot_delete, origin_uuid), d.origin_uuid);
  return e.str();
}

std::string EncodeRevertBegin(uint64_t target, uint64_t new_head, uint64_t next_id) {
  Enc e;
  uint8_t* r = e.Put<ddl_vol_revert_begin>();
  StoreLE64(r + AT(ddl_vol_revert_begin, target), target);
  StoreLE64(r + AT(ddl_vol_revert_begin, new_head), new_head);
  StoreLE64(r + AT(ddl_vol_revert_begin, next_id), next_id);
  return e.str();
}

std::string EncodeRevertDone(uint64_t new_head) {
  Enc e;
  StoreLE64(e.Put<ddl_vol_revert_done>() + AT(ddl_vol_revert_done, new_head), new_head);
  return e.str();
}

Status ApplyRecord(RecordType type, const uint8_t* p, size_t n, VolumeState* s) {
  Dec d(p, n);
  switch (type) {
    case RecordType::kCheckpoint: {
      VolumeState c;
      c.volume = s->volume;
      uint64_t count = 0;
      if (const uint8_t* h = d.Take<ddl_vol_checkpoint>()) {
        c.size = LoadLE64(h + AT(ddl_vol_checkpoint, volume_size));
        c.chunk_shift = LoadLE32(h + AT(ddl_vol_checkpoint, chunk_shift));
        c.create_ns = LoadLE64(h + AT(ddl_vol_checkpoint, create_ns));
        c.origin_uuid = GetUuid(h + AT(ddl_vol_checkpoint, origin_uuid));
        c.origin_fp = Fingerprint::Decode(h + AT(ddl_vol_checkpoint, origin_fingerprint));
        c.head_id = LoadLE64(h + AT(ddl_vol_checkpoint, head_id));
        c.next_id = LoadLE64(h + AT(ddl_vol_checkpoint, next_id));
        c.revert_target = LoadLE64(h + AT(ddl_vol_checkpoint, revert_target));
        c.revert_head = LoadLE64(h + AT(ddl_vol_checkpoint, revert_head));
        count = LoadLE64(h + AT(ddl_vol_checkpoint, snap_count));
      }
      if (!d.ok() || c.size == 0 || c.size % 512 != 0 || c.chunk_shift < 9 || c.chunk_shift > 24 || count > n / 64)
        return Bad("checkpoint fields out of range");
      for (uint64_t i = 0; i < count && d.ok(); i++) {
        SnapshotInfo snap = GetSnap(d);
        if (!d.ok()) break;
        DDL_RETURN_IF_ERROR(CheckNewSnap(c, snap));
        c.snaps.push_back(snap);
      }
      if (!d.done()) return Bad("checkpoint has the wrong length");
      if (c.head_id == 0 || c.head_id >= c.next_id || c.IndexOfId(c.head_id) >= 0) return Bad("head id out of range");
      if ((c.revert_target == 0) != (c.revert_head == 0)) return Bad("half a revert");
      *s = c;
      return Status::Ok();
    }
    case RecordType::kSnapshotCreate: {
      SnapshotInfo snap = GetSnap(d);
      const uint8_t* t = d.Take<ddl_vol_snapshot_create_tail>();
      if (!t || !d.done()) return Bad("snapshot-create has the wrong length");
      uint64_t new_head = LoadLE64(t + AT(ddl_vol_snapshot_create_tail, new_head));
      uint64_t next_id = LoadLE64(t + AT(ddl_vol_snapshot_create_tail, next_id));
      if (snap.id != s->head_id) return Bad("sealed segment is not the head");
      if (next_id <= new_head || new_head < s->next_id) return Bad("new head id out of range");
      if (s->revert_target != 0) return Bad("snapshot during a revert");
      s->next_id = next_id;
      DDL_RETURN_IF_ERROR(CheckNewSnap(*s, snap));
      s->snaps.push_back(snap);
      s->head_id = new_head;
      return Status::Ok();
    }
    case RecordType::kSnapshotDelete: {
      const uint8_t* p = d.Take<ddl_vol_snapshot_delete>();
      if (!p || !d.done()) return Bad("snapshot-delete has the wrong length");
      DeleteRecord r;
      r.id = LoadLE64(p + AT(ddl_vol_snapshot_delete, id));
      r.mode = DeleteMode(LoadLE32(p + AT(ddl_vol_snapshot_delete, mode)));
      r.next_gen = LoadLE64(p + AT(ddl_vol_snapshot_delete, next_gen));
      r.next_chunks = LoadLE64(p + AT(ddl_vol_snapshot_delete, next_chunks));
      r.origin_fp = Fingerprint::Decode(p + AT(ddl_vol_snapshot_delete, origin_fingerprint));
      r.origin_uuid = GetUuid(p + AT(ddl_vol_snapshot_delete, origin_uuid));
      int i = s->IndexOfId(r.id);
      if (i < 0) return Bad("deleting a snapshot that does not exist");
      switch (r.mode) {
        case DeleteMode::kFoldIntoBase:
          if (i != 0) return Bad("folding a snapshot that is not the oldest");
          s->origin_fp = r.origin_fp;
          s->origin_uuid = r.origin_uuid;
          break;
        case DeleteMode::kMergeIntoNext: {
          if (size_t(i) + 1 >= s->snaps.size()) return Bad("merging the newest snapshot into a next one");
          SnapshotInfo& next = s->snaps[i + 1];
          if (r.next_gen <= next.index_gen || r.next_chunks > s->chunk_count()) return Bad("merged index out of range");
          next.index_gen = r.next_gen;
          next.chunks = r.next_chunks;
          break;
        }
        case DeleteMode::kMergeIntoHead:
          if (size_t(i) + 1 != s->snaps.size()) return Bad("merging a snapshot that is not the newest into the head");
          break;
        default: return Bad("unknown delete mode");
      }
      if (s->revert_target != 0) return Bad("delete during a revert");
      s->snaps.erase(s->snaps.begin() + i);
      return Status::Ok();
    }
    case RecordType::kRevertBegin: {
      const uint8_t* p = d.Take<ddl_vol_revert_begin>();
      if (!p || !d.done()) return Bad("revert-begin has the wrong length");
      uint64_t target = LoadLE64(p + AT(ddl_vol_revert_begin, target));
      uint64_t new_head = LoadLE64(p + AT(ddl_vol_revert_begin, new_head));
      uint64_t next_id = LoadLE64(p + AT(ddl_vol_revert_begin, next_id));
      if (s->IndexOfId(target) < 0) return Bad("revert to a snapshot that does not exist");
      if (new_head < s->next_id || next_id <= new_head) return Bad("revert head id out of range");
      s->revert_target = target;
      s->revert_head = new_head;
      s->next_id = next_id;
      return Status::Ok();
    }
    case RecordType::kRevertDone: {
      const uint8_t* p = d.Take<ddl_vol_revert_done>();
      if (!p || !d.done()) return Bad("revert-done has the wrong length");
      uint64_t new_head = LoadLE64(p + AT(ddl_vol_revert_done, new_head));
      if (s->revert_head == 0 || new_head != s->revert_head) return Bad("revert-done without its revert-begin");
      s->head_id = new_head;
      s->revert_target = s->revert_head = 0;
      return Status::Ok();
    }
  }
  return Bad("unknown record type " + std::to_string(uint32_t(type)));
}

std::string EncodeManifestRecord(RecordType type, uint64_t seq, const Uuid& volume, const std::string& payload) {
  Enc e;
  uint8_t* h = e.Put<ddl_vol_manifest_header>();
  StoreLE32(h + AT(ddl_vol_manifest_header, magic), kManifestMagic);
  StoreLE32(h + AT(ddl_vol_manifest_header, type), uint32_t(type));
  StoreLE32(h + AT(ddl_vol_manifest_header, length), uint32_t(payload.size()));
  PutUuid(h + AT(ddl_vol_manifest_header, volume_uuid), volume);
  StoreLE64(h + AT(ddl_vol_manifest_header, seq), seq);
  e.Bytes(payload.data(), payload.size());
  uint8_t csum[kManifestCsum];
  StoreLE64(csum, Xxh64(e.str().data(), e.str().size()));
  e.Bytes(csum, sizeof csum);
  return e.str();
}

ManifestHeader DecodeManifestHeader(const uint8_t in[kManifestHeader]) {
  ManifestHeader h;
  h.magic = LoadLE32(in + AT(ddl_vol_manifest_header, magic));
  h.type = RecordType(LoadLE32(in + AT(ddl_vol_manifest_header, type)));
  h.length = LoadLE32(in + AT(ddl_vol_manifest_header, length));
  h.seq = LoadLE64(in + AT(ddl_vol_manifest_header, seq));
  h.volume = GetUuid(in + AT(ddl_vol_manifest_header, volume_uuid));
  return h;
}

uint64_t StoredManifestCsum(const uint8_t* record, size_t header_and_payload) {
  return LoadLE64(record + header_and_payload);
}

void EncodeIndexBlock(const Uuid& volume, uint64_t segment, uint64_t gen, uint64_t block_no, uint64_t blocks,
                      const IndexEntry* e, size_t count, uint8_t out[kIndexBlock]) {
  std::memset(out, 0, kIndexBlock);
  StoreLE32(out + AT(ddl_vol_index_block, magic), kIndexMagic);
  StoreLE32(out + AT(ddl_vol_index_block, count), uint32_t(count));
  StoreLE64(out + AT(ddl_vol_index_block, segment), segment);
  StoreLE64(out + AT(ddl_vol_index_block, gen), gen);
  StoreLE64(out + AT(ddl_vol_index_block, block_no), block_no);
  StoreLE64(out + AT(ddl_vol_index_block, blocks), blocks);
  PutUuid(out + AT(ddl_vol_index_block, volume_uuid), volume);
  uint8_t* p = out + AT(ddl_vol_index_block, entries);
  for (size_t i = 0; i < count; i++, p += sizeof(ddl_vol_index_entry)) {
    StoreLE64(p + AT(ddl_vol_index_entry, chunk), e[i].chunk);
    PutHash(p + AT(ddl_vol_index_entry, old_hash), e[i].old_hash);
    PutHash(p + AT(ddl_vol_index_entry, new_hash), e[i].new_hash);
  }
  StoreLE64(out + AT(ddl_vol_index_block, csum), Xxh64(out, AT(ddl_vol_index_block, csum)));
}

Status DecodeIndexBlock(const uint8_t in[kIndexBlock], const Uuid& volume, uint64_t segment, uint64_t gen,
                        uint64_t block_no, uint64_t* blocks, std::vector<IndexEntry>* out) {
  std::string where = "index block " + std::to_string(block_no);
  if (LoadLE32(in + AT(ddl_vol_index_block, magic)) != kIndexMagic) return Corruption(where + ": bad magic");
  if (LoadLE64(in + AT(ddl_vol_index_block, csum)) != Xxh64(in, AT(ddl_vol_index_block, csum)))
    return Corruption(where + ": bad checksum");
  if (GetUuid(in + AT(ddl_vol_index_block, volume_uuid)) != volume)
    return Corruption(where + ": belongs to another volume");
  uint64_t seg = LoadLE64(in + AT(ddl_vol_index_block, segment));
  uint64_t g = LoadLE64(in + AT(ddl_vol_index_block, gen));
  uint64_t no = LoadLE64(in + AT(ddl_vol_index_block, block_no));
  if (seg != segment || g != gen || no != block_no)
    return Corruption(where + ": belongs to segment " + std::to_string(seg) + " generation " + std::to_string(g) +
                      " block " + std::to_string(no));
  uint32_t count = LoadLE32(in + AT(ddl_vol_index_block, count));
  if (count > kIndexEntriesPerBlock) return Corruption(where + ": entry count out of range");
  *blocks = LoadLE64(in + AT(ddl_vol_index_block, blocks));
  const uint8_t* p = in + AT(ddl_vol_index_block, entries);
  for (uint32_t i = 0; i < count; i++, p += sizeof(ddl_vol_index_entry)) {
    IndexEntry e;
    e.chunk = LoadLE64(p + AT(ddl_vol_index_entry, chunk));
    e.old_hash = GetHash(p + AT(ddl_vol_index_entry, old_hash));
    e.new_hash = GetHash(p + AT(ddl_vol_index_entry, new_hash));
    out->push_back(e);
  }
  return Status::Ok();
}

size_t JournalRecordSize(size_t count) { return kJournalHeader + count * kJournalEntrySize + kJournalCsum; }

void EncodeJournalRecord(JournalType t, uint64_t seq, uint64_t segment, const Uuid& volume, const JournalEntry* e,
                         size_t count, uint8_t* out) {
  size_t size = JournalRecordSize(count);
  std::memset(out, 0, kJournalHeader);
  StoreLE32(out + AT(ddl_vol_journal_header, magic), kJournalMagic);
  StoreLE32(out + AT(ddl_vol_journal_header, type), uint32_t(t));
  StoreLE32(out + AT(ddl_vol_journal_header, count), uint32_t(count));
  StoreLE64(out + AT(ddl_vol_journal_header, seq), seq);
  StoreLE64(out + AT(ddl_vol_journal_header, segment), segment);
  PutUuid(out + AT(ddl_vol_journal_header, volume_uuid), volume);
  uint8_t* p = out + kJournalHeader;
  for (size_t i = 0; i < count; i++, p += kJournalEntrySize) {
    StoreLE64(p + AT(ddl_vol_journal_entry, chunk), e[i].chunk);
    PutHash(p + AT(ddl_vol_journal_entry, hash), e[i].hash);
  }
  StoreLE64(p, Xxh64(out, size - kJournalCsum));  // the record's last 8 bytes
}

Status DecodeJournalRecord(const uint8_t* in, size_t n, const Uuid& volume, uint64_t segment, uint64_t seq,
                           JournalType* t, std::vector<JournalEntry>* out, size_t* size) {
  if (n < kJournalHeader + kJournalCsum) return Truncated("journal record incomplete");
  if (LoadLE32(in + AT(ddl_vol_journal_header, magic)) != kJournalMagic) return Corruption("journal record: bad magic");
  uint32_t count = LoadLE32(in + AT(ddl_vol_journal_header, count));
  if (count > DDL_VOL_JOURNAL_MAX_ENTRIES) return Corruption("journal record: entry count out of range");
  *size = JournalRecordSize(count);
  if (*size > n) return Truncated("journal record incomplete");
  if (LoadLE64(in + *size - kJournalCsum) != Xxh64(in, *size - kJournalCsum))
    return Corruption("journal record: bad checksum");
  if (GetUuid(in + AT(ddl_vol_journal_header, volume_uuid)) != volume ||
      LoadLE64(in + AT(ddl_vol_journal_header, segment)) != segment)
    return Corruption("journal record: belongs to another segment");
  if (LoadLE64(in + AT(ddl_vol_journal_header, seq)) != seq) return Corruption("journal record: sequence out of order");
  *t = JournalType(LoadLE32(in + AT(ddl_vol_journal_header, type)));
  if (*t != JournalType::kEntries && *t != JournalType::kClean) return Corruption("journal record: unknown type");
  const uint8_t* p = in + kJournalHeader;
  for (uint32_t i = 0; i < count; i++, p += kJournalEntrySize) {
    JournalEntry e;
    e.chunk = LoadLE64(p + AT(ddl_vol_journal_entry, chunk));
    e.hash = GetHash(p + AT(ddl_vol_journal_entry, hash));
    out->push_back(e);
  }
  return Status::Ok();
}

std::string ManifestPath(const std::string& dir) { return dir + "/manifest"; }
std::string BasePath(const std::string& dir) { return dir + "/base"; }
std::string SegmentDataPath(const std::string& dir, uint64_t id) {
  return dir + "/seg-" + std::to_string(id) + ".data";
}
std::string SegmentIndexPath(const std::string& dir, uint64_t id, uint64_t gen) {
  return dir + "/seg-" + std::to_string(id) + "-" + std::to_string(gen) + ".idx";
}
std::string JournalPath(const std::string& dir, uint64_t id) { return dir + "/seg-" + std::to_string(id) + ".jnl"; }

}  // namespace ddl::vol
