// volume.cc - open/create/import, the live read/write/flush path, and
// snapshot creation. Deleting and reverting are in volume_edit.cc.
#include "snapcore/volume.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "snapcore/segment_index.h"

namespace ddl::vol {

uint64_t Entropy::NowNs() const {
  if (now_ns) return now_ns();
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

namespace {

constexpr size_t kFlushBatch = 16384;
constexpr size_t kCopyBuffer = 1 << 20;

void ZeroBits(std::vector<std::atomic<uint64_t>>* v, size_t words) {
  std::vector<std::atomic<uint64_t>> fresh(words);
  for (auto& w : fresh) w.store(0, std::memory_order_relaxed);
  v->swap(fresh);
}

Status CheckCreate(Env* env, const std::string& dir, const CreateOptions& o, uint64_t size) {
  if (size == 0 || size % 512 != 0)
    return InvalidArgument(dir + ": volume size " + std::to_string(size) + " is not a positive multiple of 512");
  if (o.chunk_shift < 12 || o.chunk_shift > 20) return InvalidArgument(dir + ": chunk size must be 4 KiB to 1 MiB");
  if (env->Exists(ManifestPath(dir))) return InvalidArgument(dir + ": already a volume");
  if (env->Exists(dir)) {
    DDL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
    if (!names.empty()) return InvalidArgument(dir + ": exists and is not empty");
    return Status::Ok();
  }
  return env->MakeDir(dir);
}

Status Finish(Env* env, const std::string& dir, const CreateOptions& o, uint64_t size, const Fingerprint& fp) {
  VolumeState st;
  st.volume = o.volume.IsNil() ? o.entropy.NewUuid() : o.volume;
  st.size = size;
  st.chunk_shift = o.chunk_shift;
  st.create_ns = o.entropy.NowNs();
  st.origin_fp = fp;
  st.origin_uuid = o.entropy.NewUuid();
  st.head_id = 1;
  st.next_id = 2;
  DDL_RETURN_IF_ERROR(CreateDataFile(env, SegmentDataPath(dir, 1), size));
  return Manifest::Create(env, dir, st);
}

}  // namespace

Status Volume::Create(Env* env, const std::string& dir, const CreateOptions& o) {
  DDL_RETURN_IF_ERROR(CheckCreate(env, dir, o, o.size));
  DDL_RETURN_IF_ERROR(CreateDataFile(env, BasePath(dir), o.size));
  return Finish(env, dir, o, o.size, Fingerprint());
}

Status Volume::Import(Env* env, const std::string& dir, const std::string& image, const CreateOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> in, env->Open(image, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(uint64_t size, in->Size());
  if (size == 0 || size % 512 != 0)
    return InvalidArgument(image + ": size " + std::to_string(size) + " is not a positive multiple of 512");
  DDL_RETURN_IF_ERROR(CheckCreate(env, dir, o, size));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> base, env->Open(BasePath(dir), OpenMode::kCreate));
  DDL_RETURN_IF_ERROR(base->Truncate(size));
  uint64_t cs = uint64_t(1) << o.chunk_shift;
  std::vector<uint8_t> buf(std::max<uint64_t>(kCopyBuffer, cs));
  Fingerprint fp;
  for (uint64_t off = 0; off < size; off += buf.size()) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), size - off));
    DDL_RETURN_IF_ERROR(in->ReadExact(off, buf.data(), n));
    for (size_t p = 0; p < n; p += cs) {
      size_t len = size_t(std::min<uint64_t>(cs, n - p));
      ChunkHash h = HashChunk(buf.data() + p, len);
      if (h.IsZeroMarker()) continue;
      fp.Add((off + p) >> o.chunk_shift, h);
      DDL_RETURN_IF_ERROR(base->WriteAt(off + p, buf.data() + p, len));
    }
    if (o.progress) o.progress(off + n, size);
  }
  DDL_RETURN_IF_ERROR(base->Sync());
  return Finish(env, dir, o, size, fp);
}

Result<std::unique_ptr<Volume>> Volume::Open(Env* env, const std::string& dir, const OpenOptions& o) {
  std::unique_ptr<Volume> v(new Volume(env, dir));
  DDL_RETURN_IF_ERROR(v->Load(o));
  v->closed_ = false;
  return v;
}

Volume::~Volume() {
  if (writable_ && !closed_) (void)Close();
}

Status Volume::Load(const OpenOptions& o) {
  writable_ = o.writable;
  entropy_ = o.entropy;
  if (!env_->Exists(ManifestPath(dir_))) return Status(Code::kNotFound, dir_ + ": not a ddloop volume (no manifest)");
  DDL_ASSIGN_OR_RETURN(manifest_, Manifest::Open(env_, dir_, writable_));
  if (manifest_->torn_bytes() > 0 && o.note)
    o.note(ManifestPath(dir_) + ": ignored a torn last record (" + std::to_string(manifest_->torn_bytes()) + " bytes)");
  const VolumeState& st = state();
  if (st.revert_target != 0 && !o.allow_pending_revert) {
    int t = st.IndexOfId(st.revert_target);
    return InvalidArgument(dir_ + ": a revert to snapshot " + st.snaps[t].name +
                           " was interrupted; run 'ddloop volume revert " + dir_ + " " + st.snaps[t].name +
                           "' to finish it");
  }
  if (writable_) DDL_RETURN_IF_ERROR(CollectGarbage());
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> base,
                       env_->Open(BasePath(dir_), writable_ ? OpenMode::kReadWrite : OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(uint64_t base_size, base->Size());
  if (base_size != st.size)
    return Corruption(BasePath(dir_) + ": size " + std::to_string(base_size) + ", the volume's is " +
                      std::to_string(st.size));
  base_ = std::move(base);
  for (const SnapshotInfo& s : st.snaps) {
    IndexId id{st.volume, s.id, s.index_gen, st.chunk_count()};
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<IndexCursor> c,
                         IndexCursor::Open(env_, SegmentIndexPath(dir_, s.id, s.index_gen), id));
    for (; c->valid();) {
      sealed_[c->entry().chunk] = Sealed{s.id, c->entry().new_hash};
      DDL_RETURN_IF_ERROR(c->Next());
    }
  }
  return OpenHead(o);
}

Status Volume::CollectGarbage() {
  const VolumeState& st = state();
  std::set<std::string> keep;
  for (const SnapshotInfo& s : st.snaps) {
    keep.insert(SegmentDataPath(dir_, s.id));
    keep.insert(SegmentIndexPath(dir_, s.id, s.index_gen));
  }
  for (uint64_t h : {st.head_id, st.revert_head}) {
    if (h == 0) continue;
    keep.insert(SegmentDataPath(dir_, h));
    keep.insert(JournalPath(dir_, h));
  }
  DDL_ASSIGN_OR_RETURN(std::vector<std::string> names, env_->ListDir(dir_));
  for (const std::string& n : names) {
    std::string path = dir_ + "/" + n;
    bool ours = n.compare(0, 4, "seg-") == 0 || (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0);
    if (ours && !keep.count(path)) DDL_RETURN_IF_ERROR(env_->Remove(path));
  }
  return Status::Ok();
}

Status Volume::OpenHead(const OpenOptions& o) {
  const VolumeState& st = state();
  size_t words = size_t((st.chunk_count() + 63) / 64);
  ZeroBits(&head_bits_, words);
  ZeroBits(&dirty_bits_, words);
  std::string data = SegmentDataPath(dir_, st.head_id);
  if (!writable_ && !env_->Exists(data)) return Status::Ok();  // a head never written: nothing to read
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> head,
                       writable_ ? OpenDataFile(env_, data, st.size) : env_->Open(data, OpenMode::kRead));
  head_ = std::move(head);
  std::vector<JournalEntry> entries;
  bool clean = true;
  DDL_ASSIGN_OR_RETURN(journal_, HeadJournal::Open(env_, JournalPath(dir_, st.head_id), st.volume, st.head_id,
                                                   st.chunk_count(), writable_, &entries, &clean));
  for (const JournalEntry& e : entries) head_bits_[e.chunk >> 6].fetch_or(uint64_t(1) << (e.chunk & 63));
  if (!writable_) return Status::Ok();
  flush_bits_.assign(words, 0);
  flush_entries_.resize(kFlushBatch);
  flush_buf_.resize(st.chunk_size());
  rmw_buf_.resize(st.chunk_size());
  if (!clean) {
    // Writes after the last flush may have reached the disk: hash what is there.
    DDL_ASSIGN_OR_RETURN(std::vector<JournalEntry> latest, HeadEntries());
    for (JournalEntry& e : latest) {
      uint64_t len = st.chunk_len(e.chunk);
      DDL_RETURN_IF_ERROR(head_->ReadExact(e.chunk << st.chunk_shift, flush_buf_.data(), len));
      e.hash = HashChunk(flush_buf_.data(), len);
    }
    DDL_RETURN_IF_ERROR(journal_->Rewrite(latest));
    if (o.note && !latest.empty())
      o.note(dir_ + ": rehashed " + std::to_string(latest.size()) + " head chunks after an unclean shutdown");
  }
  return journal_->MarkOpen();
}

uint64_t Volume::head_chunks() const {
  uint64_t n = 0;
  for (const auto& w : head_bits_) n += uint64_t(__builtin_popcountll(w.load(std::memory_order_relaxed)));
  return n;
}

bool Volume::InHead(uint64_t c) const { return (head_bits_[c >> 6].load(std::memory_order_acquire) >> (c & 63)) & 1; }

void Volume::MarkWritten(uint64_t first, uint64_t last) {
  for (uint64_t c = first; c <= last; c++) {
    uint64_t bit = uint64_t(1) << (c & 63);
    head_bits_[c >> 6].fetch_or(bit, std::memory_order_release);
    dirty_bits_[c >> 6].fetch_or(bit, std::memory_order_release);
  }
}

Status Volume::Read(uint64_t off, void* buf, size_t n) {
  if (off > size() || n > size() - off) return InvalidArgument(dir_ + ": read past the end of the volume");
  std::shared_lock<std::shared_mutex> l(io_mu_);
  return ReadLocked(off, buf, n);
}

Status Volume::ReadLocked(uint64_t off, void* buf, size_t n) {
  SegmentFileMemo segs(&files_);
  return ReadByChunkSource(off, buf, n, state().chunk_shift, [&](uint64_t c) -> Result<std::shared_ptr<File>> {
    if (InHead(c)) return head_;
    auto it = sealed_.find(c);
    if (it == sealed_.end()) return base_;
    if (it->second.seg == 0) return head_;  // merged into the head
    return segs.Get(it->second.seg);
  });
}

Status Volume::Write(uint64_t off, const void* buf, size_t n) {
  if (!writable_ || closed_) return InvalidArgument(dir_ + ": the volume is open read-only");
  if (off > size() || n > size() - off) return InvalidArgument(dir_ + ": write past the end of the volume");
  if (n == 0) return Status::Ok();
  const VolumeState& st = state();
  uint64_t mask = st.chunk_size() - 1, end = off + n;
  bool aligned = (off & mask) == 0 && ((end & mask) == 0 || end == st.size);
  if (!aligned) {
    std::unique_lock<std::shared_mutex> l(io_mu_);
    return WritePartial(off, static_cast<const uint8_t*>(buf), n);
  }
  std::shared_lock<std::shared_mutex> l(io_mu_);
  DDL_RETURN_IF_ERROR(head_->WriteAt(off, buf, n));
  MarkWritten(off >> st.chunk_shift, (end - 1) >> st.chunk_shift);
  return Status::Ok();
}

// Chunks only partly covered are read, patched and written whole (the
// exclusive lock keeps other writes out of the read-modify-write).
Status Volume::WritePartial(uint64_t off, const uint8_t* p, size_t n) {
  const VolumeState& st = state();
  uint64_t end = off + n;
  for (uint64_t c = off >> st.chunk_shift; c <= (end - 1) >> st.chunk_shift; c++) {
    uint64_t cstart = c << st.chunk_shift, clen = st.chunk_len(c);
    uint64_t a = std::max(off, cstart), b = std::min(end, cstart + clen);
    if (a == cstart && b == cstart + clen) {
      DDL_RETURN_IF_ERROR(head_->WriteAt(a, p + (a - off), b - a));
    } else {
      DDL_RETURN_IF_ERROR(ReadLocked(cstart, rmw_buf_.data(), clen));
      std::memcpy(rmw_buf_.data() + (a - cstart), p + (a - off), b - a);
      DDL_RETURN_IF_ERROR(head_->WriteAt(cstart, rmw_buf_.data(), clen));
    }
    MarkWritten(c, c);
  }
  return Status::Ok();
}

Status Volume::Flush() {
  if (!writable_ || closed_) return Status::Ok();
  std::shared_lock<std::shared_mutex> l(io_mu_);
  std::lock_guard<std::mutex> f(flush_mu_);
  return FlushLocked();
}

// Takes the dirty bits first, then syncs the data: a chunk is journaled only
// if its write completed before the sync, so a journaled chunk never reads
// as a hole after a crash.
Status Volume::FlushLocked() {
  const VolumeState& st = state();
  bool any = false;
  for (size_t w = 0; w < flush_bits_.size(); w++) {
    flush_bits_[w] = dirty_bits_[w].exchange(0, std::memory_order_acq_rel);
    any |= flush_bits_[w] != 0;
  }
  if (!any) return Status::Ok();
  Status s = head_->Sync();
  size_t k = 0;
  for (size_t w = 0; s.ok() && w < flush_bits_.size(); w++) {
    for (uint64_t bits = flush_bits_[w]; s.ok() && bits != 0; bits &= bits - 1) {
      uint64_t c = uint64_t(w) * 64 + uint64_t(__builtin_ctzll(bits));
      uint64_t len = st.chunk_len(c);
      s = head_->ReadExact(c << st.chunk_shift, flush_buf_.data(), len);
      if (!s.ok()) break;
      flush_entries_[k++] = JournalEntry{c, HashChunk(flush_buf_.data(), len)};
      if (k == flush_entries_.size()) {
        s = journal_->Append(flush_entries_.data(), k);
        k = 0;
      }
    }
  }
  if (s.ok() && k > 0) s = journal_->Append(flush_entries_.data(), k);
  if (!s.ok()) {
    for (size_t w = 0; w < flush_bits_.size(); w++) dirty_bits_[w].fetch_or(flush_bits_[w]);
    return s;
  }
  // A head rewritten over and over grows its journal: keep it within 4x.
  uint64_t live = head_chunks() * kJournalEntrySize;
  if (journal_->size() > (64u << 20) && journal_->size() > 4 * live) {
    DDL_ASSIGN_OR_RETURN(std::vector<JournalEntry> latest, HeadEntries());
    DDL_RETURN_IF_ERROR(journal_->Rewrite(latest));
  }
  return Status::Ok();
}

Status Volume::Close() {
  if (!writable_ || closed_) return Status::Ok();
  std::unique_lock<std::shared_mutex> l(io_mu_);
  DDL_RETURN_IF_ERROR(FlushLocked());
  DDL_RETURN_IF_ERROR(journal_->MarkClean());
  closed_ = true;
  return Status::Ok();
}

Result<std::vector<JournalEntry>> Volume::HeadEntries() {
  const VolumeState& st = state();
  std::vector<JournalEntry> all;
  bool clean = true;
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<HeadJournal> j,
                       HeadJournal::Open(env_, JournalPath(dir_, st.head_id), st.volume, st.head_id, st.chunk_count(),
                                         false, &all, &clean));
  std::map<uint64_t, ChunkHash> latest;
  for (const JournalEntry& e : all) latest[e.chunk] = e.hash;
  std::vector<JournalEntry> out;
  out.reserve(latest.size());
  for (const auto& kv : latest) out.push_back(JournalEntry{kv.first, kv.second});
  return out;
}

Result<ChunkHash> Volume::BaseHash(uint64_t c) {
  const VolumeState& st = state();
  std::vector<uint8_t> buf(st.chunk_len(c));
  DDL_RETURN_IF_ERROR(base_->ReadExact(c << st.chunk_shift, buf.data(), buf.size()));
  return HashChunk(buf.data(), buf.size());
}

Result<ChunkHash> Volume::CurrentParentHash(uint64_t c) {
  auto it = sealed_.find(c);
  if (it != sealed_.end()) return it->second.hash;
  return BaseHash(c);
}

Status Volume::StartNewHead(uint64_t id) {
  const VolumeState& st = state();
  ZeroBits(&head_bits_, head_bits_.size());
  ZeroBits(&dirty_bits_, dirty_bits_.size());
  std::string data = SegmentDataPath(dir_, id);
  DDL_RETURN_IF_ERROR(CreateDataFile(env_, data, st.size));  // fresh, whatever is left there
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> head, env_->Open(data, OpenMode::kReadWrite));
  head_ = std::move(head);
  std::vector<JournalEntry> none;
  bool clean;
  DDL_ASSIGN_OR_RETURN(
      journal_, HeadJournal::Open(env_, JournalPath(dir_, id), st.volume, id, st.chunk_count(), true, &none, &clean));
  return Status::Ok();
}

Status CheckSnapshotName(const std::string& dir, const VolumeState& st, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name[0] == '#' || name.find_first_of("/\n") != std::string::npos)
    return InvalidArgument(dir + ": snapshot name '" + name +
                           "' is not allowed (at most 255 bytes, no '/', "
                           "newline or leading '#')");
  if (st.Find(name) >= 0) return InvalidArgument(dir + ": a snapshot named '" + name + "' exists");
  return Status::Ok();
}

Result<SnapshotInfo> Volume::CreateSnapshot(const std::string& name) {
  SnapshotSpec spec;
  spec.name = name;
  return CreateSnapshot(spec);
}

Result<SnapshotInfo> Volume::CreateSnapshot(const SnapshotSpec& spec) {
  std::unique_lock<std::shared_mutex> l(io_mu_);
  if (!writable_ || closed_) return InvalidArgument(dir_ + ": the volume is open read-only");
  const VolumeState& st = state();
  std::string name = spec.name.empty() ? "snap-" + std::to_string(st.head_id) : spec.name;
  DDL_RETURN_IF_ERROR(CheckSnapshotName(dir_, st, name));
  if (!spec.uuid.IsNil()) {
    for (const SnapshotInfo& s : st.snaps)
      if (s.uuid == spec.uuid)
        return Status(Code::kExists, dir_ + ": snapshot '" + s.name + "' already has the UUID " + spec.uuid.ToString());
  }
  DDL_RETURN_IF_ERROR(FlushLocked());
  DDL_ASSIGN_OR_RETURN(std::vector<JournalEntry> head, HeadEntries());
  std::vector<IndexEntry> index;
  index.reserve(head.size());
  Fingerprint fp = st.ParentIdentity().fingerprint;
  for (const JournalEntry& e : head) {
    DDL_ASSIGN_OR_RETURN(ChunkHash old, CurrentParentHash(e.chunk));
    index.push_back(IndexEntry{e.chunk, old, e.hash});
    fp.Sub(e.chunk, old);
    fp.Add(e.chunk, e.hash);
  }
  // Checked before anything is written: a refused seal leaves no index
  // file and the head as it was.
  if (spec.check_fingerprint && fp != spec.fingerprint)
    return Corruption(dir_ + ": the head's content has fingerprint " + fp.Hex() + ", expected " +
                      spec.fingerprint.Hex());
  uint64_t id = st.head_id;
  DDL_RETURN_IF_ERROR(
      WriteIndexFile(env_, SegmentIndexPath(dir_, id, 1), IndexId{st.volume, id, 1, st.chunk_count()}, index));
  SnapshotInfo snap;
  snap.id = id;
  snap.name = name;
  snap.uuid = spec.uuid.IsNil() ? entropy_.NewUuid() : spec.uuid;
  snap.fingerprint = fp;
  snap.create_ns = spec.create_ns != 0 ? spec.create_ns : entropy_.NowNs();
  snap.index_gen = 1;
  snap.chunks = index.size();
  uint64_t new_head = st.next_id;
  DDL_RETURN_IF_ERROR(
      manifest_->Append(RecordType::kSnapshotCreate, EncodeSnapshotCreate(snap, new_head, new_head + 1)));
  for (const IndexEntry& e : index) sealed_[e.chunk] = Sealed{id, e.new_hash};
  Status s = StartNewHead(new_head);
  if (!s.ok()) {
    closed_ = true;  // committed, but the old head must not take writes: reopen
    return s;
  }
  // The index holds all the sealed head's journal said (else: the next
  // writable open removes it).
  (void)env_->Remove(JournalPath(dir_, id));
  return snap;
}

Status Volume::CopyChunks(File* from, File* to, const std::vector<uint64_t>& chunks) {
  const VolumeState& st = state();
  std::vector<uint8_t> buf(std::max<uint64_t>(kCopyBuffer, st.chunk_size()));
  size_t i = 0;
  while (i < chunks.size()) {
    size_t j = i + 1;
    while (j < chunks.size() && chunks[j] == chunks[j - 1] + 1 && (j - i + 1) * st.chunk_size() <= buf.size()) j++;
    uint64_t off = chunks[i] << st.chunk_shift;
    uint64_t len = ((chunks[j - 1] << st.chunk_shift) + st.chunk_len(chunks[j - 1])) - off;
    DDL_RETURN_IF_ERROR(from->ReadExact(off, buf.data(), len));
    DDL_RETURN_IF_ERROR(to->WriteAt(off, buf.data(), len));
    i = j;
  }
  return Status::Ok();
}

Status Volume::RemoveSegmentFiles(uint64_t id, uint64_t gen) {
  files_.Drop(id);
  DDL_RETURN_IF_ERROR(env_->Remove(SegmentDataPath(dir_, id)));
  DDL_RETURN_IF_ERROR(env_->Remove(JournalPath(dir_, id)));
  if (gen != 0) DDL_RETURN_IF_ERROR(env_->Remove(SegmentIndexPath(dir_, id, gen)));
  return Status::Ok();
}

}  // namespace ddl::vol
