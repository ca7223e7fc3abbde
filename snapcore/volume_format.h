// volume_format.h - the metadata of a ddloop volume on disk (the design is
// in volume.h; the format spec is ddloop-volume(5), its structs volume_disk_format.h).
//
// Three kinds of metadata, all little-endian, each record or block carrying
// a magic, the volume UUID, what it belongs to (sequence number, segment id,
// block number) and an XXH64 of its bytes, so a block that is stale, torn,
// misplaced or from another volume is recognised on read:
//   manifest      append-only log of volume edits (snapshot created/deleted,
//                 revert begun/done) after one checkpoint record of the whole
//                 state; rewritten (temp + rename) when it grows.
//   segment index seg-<id>-<gen>.idx: the sorted list of chunks a sealed
//                 segment holds, with each chunk's hash before and after,
//                 in 4 KiB blocks of 100 entries.
//   head journal  seg-<id>.jnl: chunks the live head holds, appended at each
//                 flush with their current hash; a "clean" record at close.
// The byte layouts are the C structs of volume_disk_format.h; this file
// converts between them and C++ values, field by field through endian.h.
// Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/format.h"
#include "deltafile/hash.h"
#include "deltafile/status.h"
#include "snapcore/volume_disk_format.h"

namespace ddl::vol {

// The layouts are the structs of volume_disk_format.h (the spec is
// ddloop-volume(5)); these are their sizes for C++ code.
constexpr uint32_t kManifestMagic = DDL_VOL_MANIFEST_MAGIC;  // "DDLM"
constexpr uint32_t kIndexMagic = DDL_VOL_INDEX_MAGIC;        // "DDLI"
constexpr uint32_t kJournalMagic = DDL_VOL_JOURNAL_MAGIC;    // "DDLJ"

constexpr size_t kManifestHeader = sizeof(ddl_vol_manifest_header);
constexpr size_t kManifestCsum = DDL_VOL_MANIFEST_CSUM_SIZE;
constexpr size_t kIndexBlock = sizeof(ddl_vol_index_block);
constexpr size_t kIndexBlockHeader = offsetof(ddl_vol_index_block, entries);
constexpr size_t kIndexEntrySize = sizeof(ddl_vol_index_entry);
constexpr size_t kIndexEntriesPerBlock = DDL_VOL_INDEX_PER_BLOCK;
static_assert(kIndexEntriesPerBlock == (kIndexBlock - kIndexBlockHeader - 8) / kIndexEntrySize,
              "as many entries as fit before the checksum");
constexpr size_t kJournalHeader = sizeof(ddl_vol_journal_header);
constexpr size_t kJournalEntrySize = sizeof(ddl_vol_journal_entry);
constexpr size_t kJournalCsum = DDL_VOL_JOURNAL_CSUM_SIZE;
constexpr uint32_t kMaxManifestPayload = DDL_VOL_MANIFEST_MAX_PAYLOAD;
constexpr uint32_t kMaxNameLength = DDL_VOL_MAX_NAME;

// One chunk of a sealed segment: its hash in the previous snapshot and in
// this one.
struct IndexEntry {
  uint64_t chunk = 0;
  ChunkHash old_hash;
  ChunkHash new_hash;
};

// One chunk of the live head with the hash of its content at the flush.
struct JournalEntry {
  uint64_t chunk = 0;
  ChunkHash hash;
};

struct SnapshotInfo {
  uint64_t id = 0;  // also the id of the segment that holds its changes
  std::string name;
  Uuid uuid;
  Fingerprint fingerprint;
  uint64_t create_ns = 0;
  uint64_t index_gen = 0;  // which seg-<id>-<gen>.idx is current
  uint64_t chunks = 0;     // entries in that index
  Identity identity() const { return Identity{uuid, fingerprint}; }
};

// Everything the manifest says.
struct VolumeState {
  Uuid volume;
  uint64_t size = 0;
  uint32_t chunk_shift = 12;
  uint64_t create_ns = 0;
  Uuid origin_uuid;  // the state of `base` (creation, import, or the last fold)
  Fingerprint origin_fp;
  uint64_t head_id = 0;             // the live head segment
  uint64_t next_id = 1;             // ids are never reused
  std::vector<SnapshotInfo> snaps;  // oldest first
  uint64_t revert_target = 0;       // nonzero while a revert is in progress
  uint64_t revert_head = 0;

  uint64_t chunk_size() const { return uint64_t(1) << chunk_shift; }
  uint64_t chunk_count() const { return (size + chunk_size() - 1) >> chunk_shift; }
  uint64_t chunk_len(uint64_t c) const;
  // Position in snaps of the snapshot named `key` (name, id as "#N", or UUID); -1 if none.
  int Find(const std::string& key) const;
  int IndexOfId(uint64_t id) const;
  // The snapshot the head was taken after (newest), or the origin.
  Identity ParentIdentity() const;
  Identity OriginIdentity() const { return Identity{origin_uuid, origin_fp}; }
};

enum class RecordType : uint32_t {
  kCheckpoint = DDL_VOL_REC_CHECKPOINT,           // the whole VolumeState
  kSnapshotCreate = DDL_VOL_REC_SNAPSHOT_CREATE,  // the head was sealed as a snapshot; a new head begins
  kSnapshotDelete = DDL_VOL_REC_SNAPSHOT_DELETE,  // a snapshot's segment was folded or merged away
  kRevertBegin = DDL_VOL_REC_REVERT_BEGIN,        // a new head holding a snapshot's content is being built
  kRevertDone = DDL_VOL_REC_REVERT_DONE,          // that head replaced the live one
};

enum class DeleteMode : uint32_t {
  kFoldIntoBase = DDL_VOL_DELETE_FOLD_INTO_BASE,    // the oldest snapshot: its chunks were written into base
  kMergeIntoNext = DDL_VOL_DELETE_MERGE_INTO_NEXT,  // its chunks went into the next snapshot's segment
  kMergeIntoHead = DDL_VOL_DELETE_MERGE_INTO_HEAD,  // the newest: its chunks went into the head
};

struct DeleteRecord {
  uint64_t id = 0;
  DeleteMode mode = DeleteMode::kFoldIntoBase;
  uint64_t next_gen = 0;  // kMergeIntoNext: the next snapshot's new index
  uint64_t next_chunks = 0;
  Fingerprint origin_fp;  // kFoldIntoBase: the new origin
  Uuid origin_uuid;
};

// Payload encoders; the state each record leads to is ApplyRecord's.
std::string EncodeCheckpoint(const VolumeState& s);
std::string EncodeSnapshotCreate(const SnapshotInfo& snap, uint64_t new_head, uint64_t next_id);
std::string EncodeSnapshotDelete(const DeleteRecord& d);
std::string EncodeRevertBegin(uint64_t target, uint64_t new_head, uint64_t next_id);
std::string EncodeRevertDone(uint64_t new_head);

// Applies one decoded record to *s, checking it makes sense there.
Status ApplyRecord(RecordType type, const uint8_t* p, size_t n, VolumeState* s);

// A whole manifest record around a payload; its checksum is the last 8 bytes.
std::string EncodeManifestRecord(RecordType type, uint64_t seq, const Uuid& volume, const std::string& payload);

// The fields of a manifest record's header (struct ddl_vol_manifest_header),
// not validated.
struct ManifestHeader {
  uint32_t magic = 0;
  RecordType type = RecordType::kCheckpoint;
  uint32_t length = 0;  // payload bytes
  uint64_t seq = 0;
  Uuid volume;
};
ManifestHeader DecodeManifestHeader(const uint8_t in[kManifestHeader]);
// The checksum stored after a record's header and payload (at in + rec_size).
uint64_t StoredManifestCsum(const uint8_t* record, size_t header_and_payload);

// Index blocks. `blocks` is the file's block count; block_no is this one's.
void EncodeIndexBlock(const Uuid& volume, uint64_t segment, uint64_t gen, uint64_t block_no, uint64_t blocks,
                      const IndexEntry* e, size_t count, uint8_t out[kIndexBlock]);
// Validates magic, checksum and that the block is block_no of this segment
// and generation of this volume; appends its entries.
Status DecodeIndexBlock(const uint8_t in[kIndexBlock], const Uuid& volume, uint64_t segment, uint64_t gen,
                        uint64_t block_no, uint64_t* blocks, std::vector<IndexEntry>* out);

// Journal records.
enum class JournalType : uint32_t { kEntries = DDL_VOL_JNL_ENTRIES, kClean = DDL_VOL_JNL_CLEAN };
size_t JournalRecordSize(size_t count);
// Writes JournalRecordSize(count) bytes to out (no allocation: the flush
// path uses a preallocated buffer).
void EncodeJournalRecord(JournalType t, uint64_t seq, uint64_t segment, const Uuid& volume, const JournalEntry* e,
                         size_t count, uint8_t* out);
// Validates the record at in[0, n) (n = bytes available); sets *size to its
// length. kTruncated if it runs past n.
Status DecodeJournalRecord(const uint8_t* in, size_t n, const Uuid& volume, uint64_t segment, uint64_t seq,
                           JournalType* t, std::vector<JournalEntry>* out, size_t* size);

// Names of the files in a volume directory.
std::string ManifestPath(const std::string& dir);
std::string BasePath(const std::string& dir);
std::string SegmentDataPath(const std::string& dir, uint64_t id);
std::string SegmentIndexPath(const std::string& dir, uint64_t id, uint64_t gen);
std::string JournalPath(const std::string& dir, uint64_t id);

}  // namespace ddl::vol
