// volume_delta.cc - k-way merge of segment indexes into a DeltaWriter.
#include "snapcore/volume_delta.h"

#include <queue>

#include "snapcore/segment_files.h"
#include "snapcore/segment_index.h"
#include "snapcore/snapshot_view.h"
#include "snapcore/volume_manifest.h"

namespace ddl::vol {

namespace {

Result<int> Position(const VolumeState& st, const std::string& dir, const std::string& key) {
  int i = st.Find(key);
  if (i < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + key + "'");
  return i;
}

Status WriteSeed(Env* env, const std::string& dir, const VolumeState& st, int to, DeltaWriter* w,
                 const VolumeDeltaOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<SnapshotView> view, SnapshotView::Open(env, dir, st, to));
  std::vector<uint8_t> buf(std::max<uint64_t>(1 << 20, st.chunk_size()));
  for (uint64_t off = 0; off < st.size; off += buf.size()) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), st.size - off));
    DDL_RETURN_IF_ERROR(view->Read(off, buf.data(), n));
    for (size_t p = 0; p < n; p += st.chunk_size()) {
      size_t len = size_t(std::min<uint64_t>(st.chunk_size(), n - p));
      if (IsAllZero(buf.data() + p, len)) continue;
      DDL_RETURN_IF_ERROR(w->AddChunk((off + p) >> st.chunk_shift, buf.data() + p, ChunkHash()));
    }
    if (o.progress) o.progress((off + n) >> st.chunk_shift, st.chunk_count());
  }
  return Status::Ok();
}

struct Head {
  uint64_t chunk;
  int pos;  // position of the snapshot: older first
  bool operator>(const Head& o) const { return chunk != o.chunk ? chunk > o.chunk : pos > o.pos; }
};

Status WriteMerged(Env* env, const std::string& dir, const VolumeState& st, int from, int to, DeltaWriter* w,
                   const VolumeDeltaOptions& o) {
  std::vector<std::unique_ptr<IndexCursor>> cur(size_t(to - from));
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heap;
  uint64_t total = 0;
  for (int p = from + 1; p <= to; p++) {
    const SnapshotInfo& s = st.snaps[p];
    DDL_ASSIGN_OR_RETURN(cur[p - from - 1], IndexCursor::Open(env, SegmentIndexPath(dir, s.id, s.index_gen),
                                                              IndexId{st.volume, s.id, s.index_gen, st.chunk_count()}));
    if (cur[p - from - 1]->valid()) heap.push(Head{cur[p - from - 1]->entry().chunk, p});
    total += s.chunks;
  }
  SegmentFiles files(env, dir, 64);
  std::vector<uint8_t> buf(st.chunk_size());
  uint64_t done = 0;
  while (!heap.empty()) {
    uint64_t c = heap.top().chunk;
    ChunkHash old_hash, new_hash;
    uint64_t owner = 0;
    bool first = true;
    while (!heap.empty() && heap.top().chunk == c) {
      int p = heap.top().pos;
      heap.pop();
      IndexCursor* k = cur[p - from - 1].get();
      if (first) old_hash = k->entry().old_hash;
      first = false;
      new_hash = k->entry().new_hash;
      owner = st.snaps[p].id;
      DDL_RETURN_IF_ERROR(k->Next());
      if (k->valid()) heap.push(Head{k->entry().chunk, p});
      done++;
    }
    if (old_hash == new_hash) continue;  // changed and changed back
    uint64_t len = st.chunk_len(c);
    DDL_ASSIGN_OR_RETURN(std::shared_ptr<File> f, files.Get(owner));
    DDL_RETURN_IF_ERROR(f->ReadExact(c << st.chunk_shift, buf.data(), len));
    if (HashChunk(buf.data(), len) != new_hash)
      return Corruption(SegmentDataPath(dir, owner) + ": chunk " + std::to_string(c) +
                        " does not match its index entry (run ddloop volume check)");
    DDL_RETURN_IF_ERROR(w->AddChunk(c, buf.data(), old_hash));
    if (o.progress && (done & 1023) == 0) o.progress(done, total);
  }
  if (o.progress) o.progress(total, total);
  return Status::Ok();
}

}  // namespace

Status WriteVolumeDelta(Env* env, const std::string& dir, const VolumeDeltaOptions& o, File* out,
                        VolumeDeltaResult* r) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Manifest> m, Manifest::Open(env, dir, false));
  const VolumeState& st = m->state();
  DDL_ASSIGN_OR_RETURN(int to, Position(st, dir, o.to));
  int from = -1;
  bool seed = o.from.empty();
  if (!seed && o.from != "origin") {
    DDL_ASSIGN_OR_RETURN(from, Position(st, dir, o.from));
  }
  if (from > to) return InvalidArgument(dir + ": snapshot '" + o.from + "' is newer than '" + o.to + "'");
  WriterOptions wo;
  wo.volume_uuid = st.volume;
  wo.volume_size = st.size;
  wo.chunk_shift = st.chunk_shift;
  wo.level = o.level;
  wo.threads = o.threads;
  wo.seed = seed;
  wo.create_time_ns = o.create_time_ns != 0 ? o.create_time_ns : st.snaps[to].create_ns;
  // Both identities are in the manifest: the header goes first and the
  // delta is written front to back, so `out` may be a pipe or a device.
  r->base = seed ? Identity() : (from < 0 ? st.OriginIdentity() : st.snaps[from].identity());
  r->target = st.snaps[to].identity();
  wo.header_first = true;
  wo.base = r->base;
  wo.target = r->target;
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<DeltaWriter> w, DeltaWriter::Create(out, wo));
  if (seed) {
    DDL_RETURN_IF_ERROR(WriteSeed(env, dir, st, to, w.get(), o));
  } else {
    DDL_RETURN_IF_ERROR(WriteMerged(env, dir, st, from, to, w.get(), o));
  }
  DDL_RETURN_IF_ERROR(w->Finish(r->base, r->target));
  r->stats = w->stats();
  r->volume_size = st.size;
  r->snapshots_merged = seed ? 0 : uint64_t(to - from);
  return Status::Ok();
}

}  // namespace ddl::vol
