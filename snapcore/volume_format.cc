// volume_format.cc - encoding and validation of volume metadata.
#include "snapcore/volume_format.h"

#include <algorithm>
#include <cstring>

#include "deltafile/endian.h"

namespace ddl::vol {

namespace {

class Enc {
 public:
  Enc& U32(uint32_t v) {
    uint8_t b[4];
    StoreLE32(b, v);
    s_.append(reinterpret_cast<char*>(b), 4);
    return *this;
  }
  Enc& U64(uint64_t v) {
    uint8_t b[8];
    StoreLE64(b, v);
    s_.append(reinterpret_cast<char*>(b), 8);
    return *this;
  }
  Enc& Bytes(const void* p, size_t n) {
    s_.append(static_cast<const char*>(p), n);
    return *this;
  }
  Enc& Id(const Uuid& u) { return Bytes(u.b, sizeof u.b); }
  Enc& Fp(const Fingerprint& f) {
    uint8_t b[DDL_FINGERPRINT_SIZE];
    f.Encode(b);
    return Bytes(b, sizeof b);
  }
  Enc& Str(const std::string& v) { return U32(uint32_t(v.size())).Bytes(v.data(), v.size()); }
  std::string& str() { return s_; }

 private:
  std::string s_;
};

// Reads fields in order; any read past the end leaves ok() false.
class Dec {
 public:
  Dec(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = LoadLE32(p_ + pos_);
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = LoadLE64(p_ + pos_);
    pos_ += 8;
    return v;
  }
  Uuid Id() {
    Uuid u;
    if (Need(sizeof u.b)) std::memcpy(u.b, p_ + pos_, sizeof u.b), pos_ += sizeof u.b;
    return u;
  }
  Fingerprint Fp() {
    if (!Need(DDL_FINGERPRINT_SIZE)) return Fingerprint();
    Fingerprint f = Fingerprint::Decode(p_ + pos_);
    pos_ += DDL_FINGERPRINT_SIZE;
    return f;
  }
  std::string Str(uint32_t max) {
    uint32_t len = U32();
    if (len > max) ok_ = false;
    if (!ok_ || !Need(len)) return "";
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == n_; }

 private:
  bool Need(size_t k) {
    if (!ok_ || n_ - pos_ < k) ok_ = false;
    return ok_;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutSnap(Enc& e, const SnapshotInfo& s) {
  e.U64(s.id).Str(s.name).Id(s.uuid).Fp(s.fingerprint).U64(s.create_ns).U64(s.index_gen).U64(s.chunks);
}

SnapshotInfo GetSnap(Dec& d) {
  SnapshotInfo s;
  s.id = d.U64();
  s.name = d.Str(kMaxNameLength);
  s.uuid = d.Id();
  s.fingerprint = d.Fp();
  s.create_ns = d.U64();
  s.index_gen = d.U64();
  s.chunks = d.U64();
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

Identity VolumeState::ParentIdentity() const {
  return snaps.empty() ? OriginIdentity() : snaps.back().identity();
}

std::string EncodeCheckpoint(const VolumeState& s) {
  Enc e;
  e.U64(s.size).U32(s.chunk_shift).U64(s.create_ns).Id(s.origin_uuid).Fp(s.origin_fp);
  e.U64(s.head_id).U64(s.next_id).U64(s.revert_target).U64(s.revert_head).U64(s.snaps.size());
  for (const SnapshotInfo& snap : s.snaps) PutSnap(e, snap);
  return e.str();
}

std::string EncodeSnapshotCreate(const SnapshotInfo& snap, uint64_t new_head, uint64_t next_id) {
  Enc e;
  PutSnap(e, snap);
  e.U64(new_head).U64(next_id);
  return e.str();
}

std::string EncodeSnapshotDelete(const DeleteRecord& d) {
  Enc e;
  e.U64(d.id).U32(uint32_t(d.mode)).U64(d.next_gen).U64(d.next_chunks).Fp(d.origin_fp).Id(d.origin_uuid);
  return e.str();
}

std::string EncodeRevertBegin(uint64_t target, uint64_t new_head, uint64_t next_id) {
  Enc e;
  e.U64(target).U64(new_head).U64(next_id);
  return e.str();
}

std::string EncodeRevertDone(uint64_t new_head) {
  Enc e;
  e.U64(new_head);
  return e.str();
}

Status ApplyRecord(RecordType type, const uint8_t* p, size_t n, VolumeState* s) {
  Dec d(p, n);
  switch (type) {
    case RecordType::kCheckpoint: {
      VolumeState c;
      c.volume = s->volume;
      c.size = d.U64();
      c.chunk_shift = d.U32();
      c.create_ns = d.U64();
      c.origin_uuid = d.Id();
      c.origin_fp = d.Fp();
      c.head_id = d.U64();
      c.next_id = d.U64();
      c.revert_target = d.U64();
      c.revert_head = d.U64();
      uint64_t count = d.U64();
      if (!d.ok() || c.size == 0 || c.size % 512 != 0 || c.chunk_shift < 9 || c.chunk_shift > 24 ||
          count > n / 64)
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
      uint64_t new_head = d.U64(), next_id = d.U64();
      if (!d.done()) return Bad("snapshot-create has the wrong length");
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
      DeleteRecord r;
      r.id = d.U64();
      r.mode = DeleteMode(d.U32());
      r.next_gen = d.U64();
      r.next_chunks = d.U64();
      r.origin_fp = d.Fp();
      r.origin_uuid = d.Id();
      if (!d.done()) return Bad("snapshot-delete has the wrong length");
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
        default:
          return Bad("unknown delete mode");
      }
      if (s->revert_target != 0) return Bad("delete during a revert");
      s->snaps.erase(s->snaps.begin() + i);
      return Status::Ok();
    }
    case RecordType::kRevertBegin: {
      uint64_t target = d.U64(), new_head = d.U64(), next_id = d.U64();
      if (!d.done()) return Bad("revert-begin has the wrong length");
      if (s->IndexOfId(target) < 0) return Bad("revert to a snapshot that does not exist");
      if (new_head < s->next_id || next_id <= new_head) return Bad("revert head id out of range");
      s->revert_target = target;
      s->revert_head = new_head;
      s->next_id = next_id;
      return Status::Ok();
    }
    case RecordType::kRevertDone: {
      uint64_t new_head = d.U64();
      if (!d.done()) return Bad("revert-done has the wrong length");
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
  e.U32(kManifestMagic).U32(uint32_t(type)).U32(uint32_t(payload.size())).U32(0).U64(seq).Id(volume);
  e.Bytes(payload.data(), payload.size());
  uint64_t csum = Xxh64(e.str().data(), e.str().size());
  e.U64(csum);
  return e.str();
}

void EncodeIndexBlock(const Uuid& volume, uint64_t segment, uint64_t gen, uint64_t block_no, uint64_t blocks,
                      const IndexEntry* e, size_t count, uint8_t out[kIndexBlock]) {
  std::memset(out, 0, kIndexBlock);
  StoreLE32(out, kIndexMagic);
  StoreLE32(out + 4, uint32_t(count));
  StoreLE64(out + 8, segment);
  StoreLE64(out + 16, gen);
  StoreLE64(out + 24, block_no);
  StoreLE64(out + 32, blocks);
  std::memcpy(out + 40, volume.b, 16);
  uint8_t* p = out + kIndexBlockHeader;
  for (size_t i = 0; i < count; i++, p += kIndexEntrySize) {
    StoreLE64(p, e[i].chunk);
    std::memcpy(p + 8, e[i].old_hash.b, 16);
    std::memcpy(p + 24, e[i].new_hash.b, 16);
  }
  StoreLE64(out + kIndexBlock - 8, Xxh64(out, kIndexBlock - 8));
}

Status DecodeIndexBlock(const uint8_t in[kIndexBlock], const Uuid& volume, uint64_t segment, uint64_t gen,
                        uint64_t block_no, uint64_t* blocks, std::vector<IndexEntry>* out) {
  std::string where = "index block " + std::to_string(block_no);
  if (LoadLE32(in) != kIndexMagic) return Corruption(where + ": bad magic");
  if (LoadLE64(in + kIndexBlock - 8) != Xxh64(in, kIndexBlock - 8)) return Corruption(where + ": bad checksum");
  Uuid v;
  std::memcpy(v.b, in + 40, 16);
  if (v != volume) return Corruption(where + ": belongs to another volume");
  if (LoadLE64(in + 8) != segment || LoadLE64(in + 16) != gen || LoadLE64(in + 24) != block_no)
    return Corruption(where + ": belongs to segment " + std::to_string(LoadLE64(in + 8)) + " generation " +
                      std::to_string(LoadLE64(in + 16)) + " block " + std::to_string(LoadLE64(in + 24)));
  uint32_t count = LoadLE32(in + 4);
  if (count > kIndexEntriesPerBlock) return Corruption(where + ": entry count out of range");
  *blocks = LoadLE64(in + 32);
  const uint8_t* p = in + kIndexBlockHeader;
  for (uint32_t i = 0; i < count; i++, p += kIndexEntrySize) {
    IndexEntry e;
    e.chunk = LoadLE64(p);
    std::memcpy(e.old_hash.b, p + 8, 16);
    std::memcpy(e.new_hash.b, p + 24, 16);
    out->push_back(e);
  }
  return Status::Ok();
}

size_t JournalRecordSize(size_t count) { return kJournalHeader + count * kJournalEntrySize + 8; }

void EncodeJournalRecord(JournalType t, uint64_t seq, uint64_t segment, const Uuid& volume, const JournalEntry* e,
                         size_t count, uint8_t* out) {
  size_t size = JournalRecordSize(count);
  std::memset(out, 0, kJournalHeader);
  StoreLE32(out, kJournalMagic);
  StoreLE32(out + 4, uint32_t(t));
  StoreLE32(out + 8, uint32_t(count));
  StoreLE64(out + 16, seq);
  StoreLE64(out + 24, segment);
  std::memcpy(out + 32, volume.b, 16);
  uint8_t* p = out + kJournalHeader;
  for (size_t i = 0; i < count; i++, p += kJournalEntrySize) {
    StoreLE64(p, e[i].chunk);
    std::memcpy(p + 8, e[i].hash.b, 16);
  }
  StoreLE64(p, Xxh64(out, size - 8));
}

Status DecodeJournalRecord(const uint8_t* in, size_t n, const Uuid& volume, uint64_t segment, uint64_t seq,
                           JournalType* t, std::vector<JournalEntry>* out, size_t* size) {
  if (n < kJournalHeader + 8) return Truncated("journal record incomplete");
  if (LoadLE32(in) != kJournalMagic) return Corruption("journal record: bad magic");
  uint32_t count = LoadLE32(in + 8);
  if (count > (1u << 24)) return Corruption("journal record: entry count out of range");
  *size = JournalRecordSize(count);
  if (*size > n) return Truncated("journal record incomplete");
  if (LoadLE64(in + *size - 8) != Xxh64(in, *size - 8)) return Corruption("journal record: bad checksum");
  Uuid v;
  std::memcpy(v.b, in + 32, 16);
  if (v != volume || LoadLE64(in + 24) != segment) return Corruption("journal record: belongs to another segment");
  if (LoadLE64(in + 16) != seq) return Corruption("journal record: sequence out of order");
  *t = JournalType(LoadLE32(in + 4));
  if (*t != JournalType::kEntries && *t != JournalType::kClean) return Corruption("journal record: unknown type");
  const uint8_t* p = in + kJournalHeader;
  for (uint32_t i = 0; i < count; i++, p += kJournalEntrySize) {
    JournalEntry e;
    e.chunk = LoadLE64(p);
    std::memcpy(e.hash.b, p + 8, 16);
    out->push_back(e);
  }
  return Status::Ok();
}

std::string ManifestPath(const std::string& dir) { return dir + "/manifest"; }
std::string BasePath(const std::string& dir) { return dir + "/base"; }
std::string SegmentDataPath(const std::string& dir, uint64_t id) { return dir + "/seg-" + std::to_string(id) + ".data"; }
std::string SegmentIndexPath(const std::string& dir, uint64_t id, uint64_t gen) {
  return dir + "/seg-" + std::to_string(id) + "-" + std::to_string(gen) + ".idx";
}
std::string JournalPath(const std::string& dir, uint64_t id) { return dir + "/seg-" + std::to_string(id) + ".jnl"; }

}  // namespace ddl::vol
