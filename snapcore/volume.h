// volume.h - a ddloop volume: a live writable block image plus any number
// of snapshots, with deltas between snapshots in time proportional to the
// chunks changed (ddloop-volume(8) is the user's description).
//
// DESIGN
//
// A volume is a directory:
//   manifest            the log of volume edits (volume_manifest.h)
//   base                the origin state: zeros (create) or an image (import)
//   seg-<id>.data       a segment's chunks, sparse, chunk c at c << chunk_shift
//   seg-<id>-<gen>.idx  a sealed segment's index: sorted chunks + hashes
//   seg-<id>.jnl        the live head's journal (head_journal.h)
// (the byte layouts: ddloop-volume(5) and volume_disk_format.h).
// Snapshot i owns sealed segment i: the chunks that changed between the
// previous snapshot (or the origin) and it. The live head is one more,
// unsealed segment over the newest snapshot. So the volume is design (b)
// of issue 6 -- an append-style chain of segments over a base -- except
// that a segment is a sparse file with chunks at their own offsets instead
// of a log: writes to the head are plain pwrites at the block's own offset
// (the same I/O as a loop device over an image file), and a snapshot is a
// rename of roles, not a copy.
//
// Why (b) and not (a), ddsnap-style copy-on-write with a B-tree of
// exceptions: (a) copies the old block out on the first write after every
// snapshot (a read and a write before the user's write: ddsnap's ~5x write
// cost) and must walk or keep exceptions per snapshot to list changes; in
// (b) the first write after a snapshot is a single pwrite into the head,
// and the changes between two snapshots are already separated out, sorted,
// in their index files. Measured: tests/bench/RESULTS.md (volume write
// throughput vs a loop device; delta time on 1 GiB vs 64 GiB).
//
// Operations and their cost:
//   write     pwrite into the head data file; sets two bits (in head, dirty)
//             in preallocated bitmaps. O(1), no allocation.
//   flush     syncs the head data, then journals the dirty chunks with their
//             hashes (read back from the page cache) and syncs the journal.
//             O(chunks dirtied since the last flush).
//   snapshot  flush; read the head journal; for each chunk in the head,
//             its hash in the previous snapshot (the in-memory map of sealed
//             chunks, or the base's chunk); write the index; fingerprint =
//             previous + sum(new) - sum(old) (the additive fingerprint of
//             deltafile(5)); one manifest record; a new empty head. No data
//             is copied; O(chunks written since the previous snapshot).
//   delta A..B  a k-way merge of the indexes of the snapshots after A up to
//             B: for each chunk, the oldest entry's old hash (its hash in A)
//             and the newest entry's data. O(entries), bounded memory (one
//             index block per snapshot in the range, plus the writer's).
//   delete    the oldest snapshot folds into base; a middle one merges into
//             the next (its chunks the next does not have are copied into
//             the next's data file and a new index generation written); the
//             newest merges into the head. Chunks overwritten later are
//             freed with the deleted segment's files. O(size of the deleted
//             segment).
//   revert    builds a new head that holds, for every chunk changed after
//             the target (in later snapshots or the head), its content in
//             the target, journaled as it goes; then switches heads.
//             Later snapshots are kept. O(chunks changed since the target).
//             To the head's parent (the newest snapshot, or the origin
//             while there is none): the head's journal is rewritten empty,
//             in place; the head is clean. O(sealed chunks), no data copied.
//
// Crash safety. The manifest append (synced) is the commit point of every
// edit, and everything it refers to is synced before it: a new index, data
// merged into another segment, chunks folded into base. Files not referred
// to by the manifest are removed on the next writable open. Data written
// into a segment before its commit lands at offsets the segment's current
// index does not list (merges) or chunks that hold the same content
// (folds, merges into the head), so a crash before the commit leaves every
// snapshot and the head reading exactly as before, and re-running the
// operation finishes it. A head write is durable once a flush journals it;
// a head journal that does not end "clean" is rehashed on open, so hashes
// always describe the bytes on disk.
//
// Memory. The map of sealed chunks (chunk -> segment, hash) holds one entry
// per chunk changed since the origin and not folded back into it; the head
// and dirty bitmaps hold 2 bits per chunk of the volume (64 KiB per GiB at
// 4 KiB chunks). Both are allocated at open: the write path allocates
// nothing. The attach daemon also calls mlockall and PR_SET_IO_FLUSHER
// (ddloop/cmd_volume_attach.cc): it serves the kernel's writeback, so it
// must neither be throttled nor wait on reclaim that waits on it.
//
// Threads: Read and Write may be called concurrently from many threads;
// Flush too. Snapshot, delete, revert and Close take the volume exclusively.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "deltafile/io.h"
#include "snapcore/head_journal.h"
#include "snapcore/segment_files.h"
#include "snapcore/volume_manifest.h"

namespace ddl::vol {

// Where a volume's new UUIDs and timestamps come from; unset: Uuid::Random
// and the real-time clock. The golden-volume generator (tests/golden/volume)
// sets both, so that the same operations write the same bytes.
struct Entropy {
  std::function<Uuid()> new_uuid;
  std::function<uint64_t()> now_ns;
  Uuid NewUuid() const { return new_uuid ? new_uuid() : Uuid::Random(); }
  uint64_t NowNs() const;
};

struct CreateOptions {
  uint64_t size = 0;                                            // multiple of 512
  uint32_t chunk_shift = 12;                                    // 4 KiB, the deltafile default
  Uuid volume;                                                  // nil: random
  std::function<void(uint64_t done, uint64_t total)> progress;  // import
  Entropy entropy;
};

struct OpenOptions {
  bool writable = true;
  // Opens a volume whose revert was interrupted (only Revert may follow).
  bool allow_pending_revert = false;
  std::function<void(const std::string&)> note;  // recovery messages
  Entropy entropy;                               // for snapshot UUIDs and times
};

// The identity of a snapshot to seal. A replica seals each snapshot it
// receives with the source's UUID, name and fingerprint.
struct SnapshotSpec {
  std::string name;  // "": "snap-<id>"
  Uuid uuid;         // nil: a new one (Entropy)
  // With check_fingerprint, the sealed content must have `fingerprint`, else
  // kCorruption and nothing is committed (the head is left as it was).
  bool check_fingerprint = false;
  Fingerprint fingerprint;
  uint64_t create_ns = 0;  // 0: now (Entropy)
};

// kInvalidArgument unless `name` may name a new snapshot of the volume in
// `dir`: 1 to 255 bytes, no '/', newline or leading '#', not in use.
Status CheckSnapshotName(const std::string& dir, const VolumeState& st, const std::string& name);

class Volume {
 public:
  // Makes a new, all-zero volume in `dir` (created; it must not exist).
  static Status Create(Env* env, const std::string& dir, const CreateOptions& o);
  // Makes a volume whose origin is a copy of `image` (zero chunks stay holes).
  static Status Import(Env* env, const std::string& dir, const std::string& image, const CreateOptions& o);
  static Result<std::unique_ptr<Volume>> Open(Env* env, const std::string& dir, const OpenOptions& o);
  ~Volume();

  const VolumeState& state() const { return manifest_->state(); }
  const std::string& dir() const { return dir_; }
  uint64_t size() const { return state().size; }
  bool writable() const { return writable_; }
  // Chunks the live head holds. 0 exactly when the head holds nothing of
  // its own and reads as its parent (the newest snapshot, or the origin);
  // a revert to that parent makes it 0 again.
  uint64_t head_chunks() const;
  bool HeadClean() const { return head_chunks() == 0; }

  // The live volume.
  Status Read(uint64_t off, void* buf, size_t n);
  Status Write(uint64_t off, const void* buf, size_t n);
  Status Flush();
  // Flush, mark the journal clean. The object is unusable afterwards.
  Status Close();

  // Seals the head as a snapshot with the identity `s` asks for. A name in
  // use: kInvalidArgument; a UUID another snapshot has: kExists; a content
  // fingerprint other than s.fingerprint (with check_fingerprint): kCorruption.
  Result<SnapshotInfo> CreateSnapshot(const SnapshotSpec& s);
  // The same with a name (empty: "snap-<id>") and a new UUID.
  Result<SnapshotInfo> CreateSnapshot(const std::string& name);
  Status DeleteSnapshot(const std::string& key);
  // The live volume becomes equal to snapshot `key`, or to the origin for
  // "origin" (only while no snapshot exists: an older origin has no id a
  // revert record could name). progress(done, total). Reverting to the
  // head's parent (the newest snapshot, or the origin) drops the head's
  // chunks in place, so the head is clean afterwards (HeadClean()).
  Status Revert(const std::string& key, const std::function<void(uint64_t, uint64_t)>& progress);

 private:
  Volume(Env* env, std::string dir) : env_(env), dir_(std::move(dir)), files_(env, dir_) {}
  Status Load(const OpenOptions& o);
  Status CollectGarbage();
  Status OpenHead(const OpenOptions& o);
  Status FlushLocked();
  Status WritePartial(uint64_t off, const uint8_t* p, size_t n);
  Status ReadLocked(uint64_t off, void* buf, size_t n);
  Result<ChunkHash> BaseHash(uint64_t c);
  Result<ChunkHash> CurrentParentHash(uint64_t c);
  void MarkWritten(uint64_t first, uint64_t last);  // chunks [first, last]: in the head, dirty
  bool InHead(uint64_t c) const;
  Result<std::vector<JournalEntry>> HeadEntries();  // latest per chunk, ascending
  Status StartNewHead(uint64_t id);
  Status DropHead();
  Status DeleteMergeIntoNext(int i);
  Status DeleteMergeIntoHead(int i);
  Status DeleteFold(int i);
  Status RemoveSegmentFiles(uint64_t id, uint64_t gen);  // gen 0: no index
  Status CopyChunks(File* from, File* to, const std::vector<uint64_t>& chunks);

  struct Sealed {
    uint64_t seg;    // 0: the chunk is in the head, its parent's owner unknown
    ChunkHash hash;  // content in the newest snapshot
  };

  Env* env_;
  std::string dir_;
  Entropy entropy_;
  std::unique_ptr<Manifest> manifest_;
  bool writable_ = false;
  bool closed_ = true;  // until Load succeeds
  SegmentFiles files_;
  std::shared_ptr<File> base_;
  std::shared_ptr<File> head_;
  std::unique_ptr<HeadJournal> journal_;
  std::unordered_map<uint64_t, Sealed> sealed_;
  std::vector<std::atomic<uint64_t>> head_bits_;
  std::vector<std::atomic<uint64_t>> dirty_bits_;
  std::vector<uint64_t> flush_bits_;         // dirty words taken by a flush
  std::vector<JournalEntry> flush_entries_;  // preallocated journal batch
  std::vector<uint8_t> flush_buf_;
  std::vector<uint8_t> rmw_buf_;  // partial-chunk writes (exclusive lock)
  std::shared_mutex io_mu_;       // shared: read, write, flush; exclusive: the rest
  std::mutex flush_mu_;
};

}  // namespace ddl::vol
