// volume_check.cc - CheckVolume: every structure of a volume, every problem
// reported (volume_check.h).
#include "snapcore/volume_check.h"

#include <set>
#include <unordered_map>

#include "snapcore/head_journal.h"
#include "snapcore/volume_manifest.h"

namespace ddl::vol {

namespace {

std::string Name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class Checker {
 public:
  Checker(Env* env, const std::string& dir, const std::function<void(uint64_t, uint64_t)>& progress, CheckReport* r)
      : env_(env), dir_(dir), progress_(progress), r_(r) {}

  Status Run() {
    if (!env_->Exists(ManifestPath(dir_))) return Status(Code::kNotFound, dir_ + ": not a ddloop volume (no manifest)");
    auto m = Manifest::Open(env_, dir_, false);
    if (!m.ok()) {
      Problem(ManifestPath(dir_), m.status().message());
      return Done();
    }
    st_ = (*m)->state();
    if ((*m)->torn_bytes() > 0)
      r_->notes.push_back(ManifestPath(dir_) + ": a torn last record (" + std::to_string((*m)->torn_bytes()) +
                          " bytes) is ignored, and cut off at the next writable open");
    if (st_.revert_target != 0)
      r_->notes.push_back(dir_ + ": a revert is in progress; 'ddloop volume revert' finishes it");
    buf_.resize(st_.chunk_size());
    total_ = st_.chunk_count();
    for (const SnapshotInfo& s : st_.snaps) total_ += 2 * s.chunks;
    CheckBase();
    Fingerprint prev = st_.origin_fp;
    for (const SnapshotInfo& s : st_.snaps) {
      CheckSnapshot(s, prev);
      prev = s.fingerprint;
      r_->snapshots++;
    }
    CheckHead();
    CheckFiles();
    return Done();
  }

 private:
  void Problem(const std::string& file, const std::string& msg) { r_->problems.push_back({file, msg}); }

  Status Done() {
    if (r_->problems.empty()) return Status::Ok();
    return Corruption(dir_ + ": " + std::to_string(r_->problems.size()) + " problem" +
                      (r_->problems.size() == 1 ? "" : "s") + " found");
  }

  void Tick(uint64_t n) {
    done_ += n;
    if (progress_ && (done_ & 4095) < n) progress_(done_, total_);
  }

  // Reads chunk c of `f` into buf_ and hashes it.
  Result<ChunkHash> HashOf(File* f, uint64_t c) {
    uint64_t len = st_.chunk_len(c);
    size_t got = 0;
    DDL_RETURN_IF_ERROR(f->ReadAt(c << st_.chunk_shift, buf_.data(), len, &got));
    if (got < len) std::fill(buf_.begin() + got, buf_.begin() + len, 0);  // past a sparse end
    r_->chunks_read++;
    return HashChunk(buf_.data(), len);
  }

  void CheckBase() {
    const std::string path = BasePath(dir_);
    auto f = env_->Open(path, OpenMode::kRead);
    if (!f.ok()) return Problem(path, f.status().message());
    base_ = std::move(*f);
    auto size = base_->Size();
    if (!size.ok() || *size != st_.size) {
      Problem(path, "size " + (size.ok() ? std::to_string(*size) : size.status().message()) + ", the volume's is " +
                        std::to_string(st_.size));
      base_.reset();
      return;
    }
    Fingerprint fp;
    for (uint64_t c = 0; c < st_.chunk_count(); c++) {
      auto h = HashOf(base_.get(), c);
      if (!h.ok()) return Problem(path, h.status().message());
      if (!h->IsZeroMarker()) fp.Add(c, *h);
      Tick(1);
    }
    if (fp != st_.origin_fp)
      Problem(path, "content fingerprint " + fp.Hex().substr(0, 16) + " is not the origin's recorded " +
                        st_.origin_fp.Hex().substr(0, 16));
  }

  // The chunk's hash in the previous snapshot (or the origin).
  Result<ChunkHash> Previous(uint64_t c) {
    auto it = current_.find(c);
    if (it != current_.end()) return it->second;
    if (!base_) return IOError("base unreadable");
    return HashOf(base_.get(), c);
  }

  // All blocks of an index, each bad one reported; *complete is false if
  // any entry may be missing.
  std::vector<IndexEntry> ReadIndex(const SnapshotInfo& s, const std::string& path, bool* complete) {
    std::vector<IndexEntry> all;
    *complete = false;
    auto f = env_->Open(path, OpenMode::kRead);
    if (!f.ok()) return Problem(path, f.status().message()), all;
    auto size = (*f)->Size();
    if (!size.ok() || *size == 0 || *size % kIndexBlock != 0)
      return Problem(path, "size " + (size.ok() ? std::to_string(*size) : size.status().message()) +
                               " is not a whole number of index blocks"),
             all;
    const uint64_t blocks = *size / kIndexBlock;
    *complete = true;
    std::vector<uint8_t> block(kIndexBlock);
    for (uint64_t b = 0; b < blocks; b++) {
      uint64_t said = 0;
      size_t before = all.size();
      Status st = (*f)->ReadExact(b * kIndexBlock, block.data(), kIndexBlock);
      if (st.ok()) st = DecodeIndexBlock(block.data(), st_.volume, s.id, s.index_gen, b, &said, &all);
      if (st.ok() && said != blocks)
        st = Corruption("block " + std::to_string(b) + " says the index has " + std::to_string(said) + " blocks");
      if (!st.ok()) {
        all.resize(before);
        *complete = false;
        Problem(path, st.message());
      }
    }
    for (size_t i = 0; i < all.size(); i++) {
      if (all[i].chunk >= st_.chunk_count() || (i > 0 && all[i].chunk <= all[i - 1].chunk)) {
        Problem(path, "chunk " + std::to_string(all[i].chunk) + " out of order or outside the volume");
        *complete = false;
        break;
      }
    }
    if (*complete && all.size() != s.chunks)
      Problem(path, std::to_string(all.size()) + " entries, the manifest records " + std::to_string(s.chunks));
    return all;
  }

  void CheckSnapshot(const SnapshotInfo& s, const Fingerprint& prev) {
    const std::string idx = SegmentIndexPath(dir_, s.id, s.index_gen), data = SegmentDataPath(dir_, s.id);
    const std::string what = " (snapshot " + s.name + ")";
    bool complete = false;
    std::vector<IndexEntry> entries = ReadIndex(s, idx, &complete);
    r_->index_entries += entries.size();
    auto df = env_->Open(data, OpenMode::kRead);
    if (!df.ok()) Problem(data, df.status().message());
    Fingerprint fp = prev;
    for (const IndexEntry& e : entries) {
      fp.Sub(e.chunk, e.old_hash);
      fp.Add(e.chunk, e.new_hash);
      if (!uncertain_) {
        auto old = Previous(e.chunk);
        if (old.ok() && *old != e.old_hash)
          Problem(idx,
                  "chunk " + std::to_string(e.chunk) + ": old hash is not its hash in the previous snapshot" + what);
      }
      if (df.ok()) {
        auto h = HashOf(df->get(), e.chunk);
        if (!h.ok())
          Problem(data, h.status().message());
        else if (*h != e.new_hash)
          Problem(data, "chunk " + std::to_string(e.chunk) + " does not match its index entry" + what);
      }
      current_[e.chunk] = e.new_hash;
      Tick(2);
    }
    if (!complete) {
      // Entries are missing: what later snapshots say their old hashes are can no longer be checked.
      uncertain_ = true;
      r_->notes.push_back(idx + ": damaged; old hashes of later snapshots are not checked");
    } else if (fp != s.fingerprint) {
      Problem(idx, "fingerprint arithmetic gives " + fp.Hex().substr(0, 16) + ", the manifest records " +
                       s.fingerprint.Hex().substr(0, 16) + what);
    }
  }

  void CheckHead() {
    const std::string jnl = JournalPath(dir_, st_.head_id), data = SegmentDataPath(dir_, st_.head_id);
    std::vector<JournalEntry> entries;
    bool clean = true;
    auto j = HeadJournal::Open(env_, jnl, st_.volume, st_.head_id, st_.chunk_count(), false, &entries, &clean);
    if (!j.ok()) return Problem(jnl, j.status().message());
    if ((*j)->ignored_bytes() > 0)
      r_->notes.push_back(jnl + ": a torn tail (" + std::to_string((*j)->ignored_bytes()) + " bytes) is ignored");
    if (!clean) {
      r_->notes.push_back(jnl + ": not closed cleanly (attached, or its server died): the head's " +
                          std::to_string(entries.size()) +
                          " journaled chunks are rehashed at the next open, not checked");
      return;
    }
    if (entries.empty()) return;
    auto df = env_->Open(data, OpenMode::kRead);
    if (!df.ok()) return Problem(data, df.status().message());
    std::unordered_map<uint64_t, ChunkHash> latest;
    for (const JournalEntry& e : entries) latest[e.chunk] = e.hash;
    std::set<uint64_t> order;
    for (const auto& kv : latest) order.insert(kv.first);
    for (uint64_t c : order) {
      auto h = HashOf(df->get(), c);
      if (!h.ok())
        Problem(data, h.status().message());
      else if (*h != latest[c])
        Problem(data, "chunk " + std::to_string(c) + " does not match its journal entry (the live head)");
    }
  }

  void CheckFiles() {
    std::set<std::string> known = {Name(ManifestPath(dir_)), Name(BasePath(dir_)), "lock", "control"};
    for (const SnapshotInfo& s : st_.snaps) {
      known.insert(Name(SegmentDataPath(dir_, s.id)));
      known.insert(Name(SegmentIndexPath(dir_, s.id, s.index_gen)));
      known.insert(Name(JournalPath(dir_, s.id)));  // left when sealed; removed at the next writable open
    }
    for (uint64_t h : {st_.head_id, st_.revert_head}) {
      known.insert(Name(SegmentDataPath(dir_, h)));
      known.insert(Name(JournalPath(dir_, h)));
    }
    auto names = env_->ListDir(dir_);
    if (!names.ok()) return Problem(dir_, names.status().message());
    for (const std::string& n : *names)
      if (!known.count(n) && n.compare(0, 4, "seg-") == 0)
        r_->notes.push_back(dir_ + "/" + n + ": not part of the volume; removed at the next writable open");
  }

  Env* env_;
  std::string dir_;
  const std::function<void(uint64_t, uint64_t)>& progress_;
  CheckReport* r_;
  VolumeState st_;
  std::unique_ptr<File> base_;
  std::unordered_map<uint64_t, ChunkHash> current_;  // chunk -> hash in the snapshot checked last
  bool uncertain_ = false;
  std::vector<uint8_t> buf_;
  uint64_t done_ = 0, total_ = 0;
};

}  // namespace

Status CheckVolume(Env* env, const std::string& dir, const std::function<void(uint64_t, uint64_t)>& progress,
                   CheckReport* r) {
  Checker c(env, dir, progress, r);
  return c.Run();
}

}  // namespace ddl::vol
