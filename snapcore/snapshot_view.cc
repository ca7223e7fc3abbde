// snapshot_view.cc - the chunk map of one snapshot, and reads through it.
#include "snapcore/snapshot_view.h"

namespace ddl::vol {

Result<std::unique_ptr<SnapshotView>> SnapshotView::Open(Env* env, const std::string& dir, const VolumeState& st,
                                                         int position) {
  std::unique_ptr<SnapshotView> v(new SnapshotView(env, dir));
  v->size_ = st.size;
  v->chunk_shift_ = st.chunk_shift;
  v->identity_ = position < 0 ? st.OriginIdentity() : st.snaps[position].identity();
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> base, env->Open(BasePath(dir), OpenMode::kRead));
  v->base_ = std::move(base);
  for (int i = 0; i <= position; i++) {
    const SnapshotInfo& s = st.snaps[i];
    IndexId id{st.volume, s.id, s.index_gen, st.chunk_count()};
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<IndexCursor> c,
                         IndexCursor::Open(env, SegmentIndexPath(dir, s.id, s.index_gen), id));
    for (; c->valid();) {
      v->owner_[c->entry().chunk] = s.id;
      DDL_RETURN_IF_ERROR(c->Next());
    }
  }
  return v;
}

uint64_t SnapshotView::OwnerOf(uint64_t c) const {
  auto it = owner_.find(c);
  return it == owner_.end() ? 0 : it->second;
}

Status SnapshotView::Read(uint64_t off, void* buf, size_t n) {
  if (off > size_ || n > size_ - off) return InvalidArgument("read past the end of the volume");
  SegmentFileMemo segs(&files_);
  return ReadByChunkSource(off, buf, n, chunk_shift_, [&](uint64_t c) -> Result<std::shared_ptr<File>> {
    uint64_t owner = OwnerOf(c);
    if (owner == 0) return base_;
    return segs.Get(owner);
  });
}

}  // namespace ddl::vol
