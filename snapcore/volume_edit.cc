// volume_edit.cc - deleting snapshots (fold, merge into the next, merge
// into the head) and reverting the live volume to a snapshot. The design
// and the crash-safety argument are in volume.h.
#include <algorithm>
#include <unordered_set>

#include "snapcore/segment_index.h"
#include "snapcore/snapshot_view.h"
#include "snapcore/volume.h"

namespace ddl::vol {

namespace {
constexpr size_t kRevertBatch = 16384;  // chunks per journaled step (64 MiB at 4 KiB)
}

Status Volume::DeleteSnapshot(const std::string& key) {
  std::unique_lock<std::shared_mutex> l(io_mu_);
  if (!writable_ || closed_) return InvalidArgument(dir_ + ": the volume is open read-only");
  const VolumeState& st = state();
  if (st.revert_target != 0) return InvalidArgument(dir_ + ": a revert is in progress; finish it first");
  int i = st.Find(key);
  if (i < 0) return Status(Code::kNotFound, dir_ + ": no snapshot '" + key + "'");
  if (i == 0) return DeleteFold(i);
  if (size_t(i) + 1 == st.snaps.size()) return DeleteMergeIntoHead(i);
  return DeleteMergeIntoNext(i);
}

// The oldest snapshot: its chunks are written into base, which becomes it.
// Base chunks it overwrites belong to no snapshot any more (every state
// after the origin has this segment or a newer one over them).
Status Volume::DeleteFold(int i) {
  const VolumeState& st = state();
  SnapshotInfo s = st.snaps[i];
  IndexId id{st.volume, s.id, s.index_gen, st.chunk_count()};
  DDL_ASSIGN_OR_RETURN(std::vector<IndexEntry> entries,
                       ReadIndexFile(env_, SegmentIndexPath(dir_, s.id, s.index_gen), id));
  std::vector<uint64_t> chunks;
  chunks.reserve(entries.size());
  for (const IndexEntry& e : entries) chunks.push_back(e.chunk);
  DDL_ASSIGN_OR_RETURN(std::shared_ptr<File> seg, files_.Get(s.id));
  DDL_RETURN_IF_ERROR(CopyChunks(seg.get(), base_.get(), chunks));
  DDL_RETURN_IF_ERROR(base_->Sync());
  DeleteRecord d;
  d.id = s.id;
  d.mode = DeleteMode::kFoldIntoBase;
  d.origin_fp = s.fingerprint;
  d.origin_uuid = s.uuid;
  DDL_RETURN_IF_ERROR(manifest_->Append(RecordType::kSnapshotDelete, EncodeSnapshotDelete(d)));
  for (const IndexEntry& e : entries) {
    auto it = sealed_.find(e.chunk);
    if (it != sealed_.end() && it->second.seg == s.id) sealed_.erase(it);
  }
  return RemoveSegmentFiles(s.id, s.index_gen);
}

// A middle snapshot: chunks the next snapshot does not have are copied into
// the next's data file (at offsets its current index does not list), and a
// new index generation of the next lists the union, each chunk's old hash
// taken from the deleted one where it has it.
Status Volume::DeleteMergeIntoNext(int i) {
  const VolumeState& st = state();
  SnapshotInfo a = st.snaps[i], b = st.snaps[i + 1];
  DDL_ASSIGN_OR_RETURN(std::vector<IndexEntry> ea,
                       ReadIndexFile(env_, SegmentIndexPath(dir_, a.id, a.index_gen),
                                     IndexId{st.volume, a.id, a.index_gen, st.chunk_count()}));
  DDL_ASSIGN_OR_RETURN(std::vector<IndexEntry> eb,
                       ReadIndexFile(env_, SegmentIndexPath(dir_, b.id, b.index_gen),
                                     IndexId{st.volume, b.id, b.index_gen, st.chunk_count()}));
  std::vector<IndexEntry> merged;
  std::vector<uint64_t> copy;
  merged.reserve(ea.size() + eb.size());
  size_t x = 0, y = 0;
  while (x < ea.size() || y < eb.size()) {
    if (y == eb.size() || (x < ea.size() && ea[x].chunk < eb[y].chunk)) {
      merged.push_back(ea[x]);
      copy.push_back(ea[x++].chunk);
    } else if (x == ea.size() || eb[y].chunk < ea[x].chunk) {
      merged.push_back(eb[y++]);
    } else {
      merged.push_back(IndexEntry{eb[y].chunk, ea[x].old_hash, eb[y].new_hash});
      x++, y++;
    }
  }
  {
    DDL_ASSIGN_OR_RETURN(std::shared_ptr<File> from, files_.Get(a.id));
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> to, env_->Open(SegmentDataPath(dir_, b.id), OpenMode::kReadWrite));
    DDL_RETURN_IF_ERROR(CopyChunks(from.get(), to.get(), copy));
    DDL_RETURN_IF_ERROR(to->Sync());
  }
  uint64_t gen = b.index_gen + 1;
  DDL_RETURN_IF_ERROR(
      WriteIndexFile(env_, SegmentIndexPath(dir_, b.id, gen), IndexId{st.volume, b.id, gen, st.chunk_count()}, merged));
  DeleteRecord d;
  d.id = a.id;
  d.mode = DeleteMode::kMergeIntoNext;
  d.next_gen = gen;
  d.next_chunks = merged.size();
  DDL_RETURN_IF_ERROR(manifest_->Append(RecordType::kSnapshotDelete, EncodeSnapshotDelete(d)));
  for (const IndexEntry& e : ea) {
    auto it = sealed_.find(e.chunk);
    if (it != sealed_.end() && it->second.seg == a.id) it->second.seg = b.id;
  }
  DDL_RETURN_IF_ERROR(env_->Remove(SegmentIndexPath(dir_, b.id, b.index_gen)));
  return RemoveSegmentFiles(a.id, a.index_gen);
}

// The newest snapshot: its chunks the head does not have are copied into
// the head (same content as the live volume has now) and flushed; the head's
// parent becomes the snapshot before it.
Status Volume::DeleteMergeIntoHead(int i) {
  const VolumeState& st = state();
  SnapshotInfo a = st.snaps[i];
  DDL_ASSIGN_OR_RETURN(std::vector<IndexEntry> ea,
                       ReadIndexFile(env_, SegmentIndexPath(dir_, a.id, a.index_gen),
                                     IndexId{st.volume, a.id, a.index_gen, st.chunk_count()}));
  std::vector<uint64_t> copy;
  for (const IndexEntry& e : ea)
    if (!InHead(e.chunk)) copy.push_back(e.chunk);
  {
    DDL_ASSIGN_OR_RETURN(std::shared_ptr<File> from, files_.Get(a.id));
    DDL_RETURN_IF_ERROR(CopyChunks(from.get(), head_.get(), copy));
  }
  for (uint64_t c : copy) MarkWritten(c, c);
  DDL_RETURN_IF_ERROR(FlushLocked());
  DeleteRecord d;
  d.id = a.id;
  d.mode = DeleteMode::kMergeIntoHead;
  DDL_RETURN_IF_ERROR(manifest_->Append(RecordType::kSnapshotDelete, EncodeSnapshotDelete(d)));
  // These chunks are in the head now; what the next snapshot needs of them
  // is their hash in the new parent, which is the deleted entry's old hash.
  for (const IndexEntry& e : ea) {
    auto it = sealed_.find(e.chunk);
    if (it != sealed_.end() && (it->second.seg == a.id || it->second.seg == 0)) it->second = Sealed{0, e.old_hash};
  }
  return RemoveSegmentFiles(a.id, a.index_gen);
}

Status Volume::Revert(const std::string& key, const std::function<void(uint64_t, uint64_t)>& progress) {
  std::unique_lock<std::shared_mutex> l(io_mu_);
  if (!writable_ || closed_) return InvalidArgument(dir_ + ": the volume is open read-only");
  const bool pending = state().revert_target != 0;
  if (key == "origin") {
    if (!state().snaps.empty())
      return InvalidArgument(dir_ + ": reverting to the origin while snapshots exist is not supported");
    return DropHead();
  }
  int t = state().Find(key);
  if (t < 0) return Status(Code::kNotFound, dir_ + ": no snapshot '" + key + "'");
  if (!pending && size_t(t) + 1 == state().snaps.size()) return DropHead();
  uint64_t target = state().snaps[t].id;
  if (state().revert_target != target) {
    // Start (or restart toward another snapshot) with a fresh head id.
    if (state().revert_head != 0) DDL_RETURN_IF_ERROR(RemoveSegmentFiles(state().revert_head, 0));
    uint64_t h = state().next_id;
    DDL_RETURN_IF_ERROR(manifest_->Append(RecordType::kRevertBegin, EncodeRevertBegin(target, h, h + 1)));
  }
  const VolumeState& st = state();
  uint64_t h = st.revert_head, old_head = st.head_id;

  // Chunks that may differ from the target: changed in a later snapshot or in the head.
  std::vector<uint64_t> todo;
  for (const auto& kv : sealed_)
    if (kv.second.seg > target || kv.second.seg == 0) todo.push_back(kv.first);
  for (size_t w = 0; w < head_bits_.size(); w++)
    for (uint64_t bits = head_bits_[w].load(); bits != 0; bits &= bits - 1)
      todo.push_back(uint64_t(w) * 64 + uint64_t(__builtin_ctzll(bits)));
  std::sort(todo.begin(), todo.end());
  todo.erase(std::unique(todo.begin(), todo.end()), todo.end());

  DDL_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotView> view, SnapshotView::Open(env_, dir_, st, t));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> nh, OpenDataFile(env_, SegmentDataPath(dir_, h), st.size));
  std::vector<JournalEntry> done_entries;
  bool clean;
  DDL_ASSIGN_OR_RETURN(
      std::unique_ptr<HeadJournal> nj,
      HeadJournal::Open(env_, JournalPath(dir_, h), st.volume, h, st.chunk_count(), true, &done_entries, &clean));
  std::unordered_set<uint64_t> done;
  for (const JournalEntry& e : done_entries) done.insert(e.chunk);

  std::vector<uint8_t> buf(st.chunk_size());
  std::vector<JournalEntry> batch;
  uint64_t n = 0;
  for (uint64_t c : todo) {
    n++;
    if (done.count(c)) continue;
    uint64_t len = st.chunk_len(c);
    DDL_RETURN_IF_ERROR(view->Read(c << st.chunk_shift, buf.data(), len));
    DDL_RETURN_IF_ERROR(nh->WriteAt(c << st.chunk_shift, buf.data(), len));
    batch.push_back(JournalEntry{c, HashChunk(buf.data(), len)});
    if (batch.size() == kRevertBatch) {
      DDL_RETURN_IF_ERROR(nh->Sync());
      DDL_RETURN_IF_ERROR(nj->Append(batch.data(), batch.size()));
      batch.clear();
      if (progress) progress(n, todo.size());
    }
  }
  DDL_RETURN_IF_ERROR(nh->Sync());
  DDL_RETURN_IF_ERROR(nj->Append(batch.data(), batch.size()));
  DDL_RETURN_IF_ERROR(nj->MarkClean());
  DDL_RETURN_IF_ERROR(manifest_->Append(RecordType::kRevertDone, EncodeRevertDone(h)));
  if (progress) progress(todo.size(), todo.size());

  // The new head holds exactly `todo`.
  for (auto& w : head_bits_) w.store(0);
  for (auto& w : dirty_bits_) w.store(0);
  for (uint64_t c : todo) head_bits_[c >> 6].fetch_or(uint64_t(1) << (c & 63));
  head_ = std::move(nh);
  journal_ = std::move(nj);
  DDL_RETURN_IF_ERROR(RemoveSegmentFiles(old_head, 0));
  return journal_->MarkOpen();
}

// The head's parent is the target: the head's chunks are dropped from its
// journal (one atomic rewrite, the commit point) instead of copied into a
// new head. Their bytes stay in the head's data file at offsets the journal
// no longer lists, which nothing reads (a later write to such a chunk
// rewrites it whole, or patches what the parent holds). Chunks a deleted
// newest snapshot left in the head (seg 0: owner unknown) get their owner in
// the parent back, from its view.
Status Volume::DropHead() {
  const VolumeState& st = state();
  bool unknown = false;
  for (const auto& kv : sealed_) unknown |= kv.second.seg == 0;
  if (unknown) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotView> view,
                         SnapshotView::Open(env_, dir_, st, int(st.snaps.size()) - 1));
    for (auto it = sealed_.begin(); it != sealed_.end();) {
      if (it->second.seg != 0) {
        ++it;
      } else if (uint64_t owner = view->OwnerOf(it->first); owner != 0) {
        it->second.seg = owner;
        ++it;
      } else {
        it = sealed_.erase(it);  // the base holds it (its hash is the base's)
      }
    }
  }
  DDL_RETURN_IF_ERROR(journal_->Rewrite({}));
  for (auto& w : head_bits_) w.store(0);
  for (auto& w : dirty_bits_) w.store(0);
  return journal_->MarkOpen();
}

}  // namespace ddl::vol
