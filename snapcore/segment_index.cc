// segment_index.cc - index files: written whole, read whole or block by block.
#include "snapcore/segment_index.h"

namespace ddl::vol {

Status WriteIndexFile(Env* env, const std::string& path, const IndexId& id, const std::vector<IndexEntry>& entries) {
  uint64_t blocks = entries.empty() ? 1 : (entries.size() + kIndexEntriesPerBlock - 1) / kIndexEntriesPerBlock;
  std::string tmp = path + ".tmp";
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(tmp, OpenMode::kCreate));
  std::vector<uint8_t> buf(kIndexBlock * 64);
  uint64_t b = 0;
  while (b < blocks) {
    size_t in_buf = 0;
    for (; in_buf < 64 && b < blocks; in_buf++, b++) {
      size_t first = b * kIndexEntriesPerBlock;
      size_t count = std::min(kIndexEntriesPerBlock, entries.size() - first);
      EncodeIndexBlock(id.volume, id.segment, id.gen, b, blocks, entries.data() + first, count,
                       buf.data() + in_buf * kIndexBlock);
    }
    DDL_RETURN_IF_ERROR(f->WriteAt((b - in_buf) * kIndexBlock, buf.data(), in_buf * kIndexBlock));
  }
  DDL_RETURN_IF_ERROR(f->Sync());
  f.reset();
  DDL_RETURN_IF_ERROR(env->Rename(tmp, path));
  return env->SyncDirOf(path);
}

Result<std::vector<IndexEntry>> ReadIndexFile(Env* env, const std::string& path, const IndexId& id) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<IndexCursor> c, IndexCursor::Open(env, path, id));
  std::vector<IndexEntry> out;
  while (c->valid()) {
    out.push_back(c->entry());
    DDL_RETURN_IF_ERROR(c->Next());
  }
  return out;
}

Result<std::unique_ptr<IndexCursor>> IndexCursor::Open(Env* env, const std::string& path, const IndexId& id) {
  std::unique_ptr<IndexCursor> c(new IndexCursor());
  DDL_ASSIGN_OR_RETURN(c->file_, env->Open(path, OpenMode::kRead));
  c->id_ = id;
  DDL_ASSIGN_OR_RETURN(uint64_t size, c->file_->Size());
  if (size == 0 || size % kIndexBlock != 0)
    return Corruption(path + ": size " + std::to_string(size) + " is not a whole number of index blocks");
  c->blocks_ = size / kIndexBlock;
  DDL_RETURN_IF_ERROR(c->LoadBlock());
  return c;
}

Status IndexCursor::LoadBlock() {
  block_.clear();
  pos_ = 0;
  while (block_.empty() && next_block_ < blocks_) {
    uint8_t buf[kIndexBlock];
    DDL_RETURN_IF_ERROR(file_->ReadExact(next_block_ * kIndexBlock, buf, sizeof buf));
    uint64_t blocks = 0;
    DDL_RETURN_IF_ERROR(
        DecodeIndexBlock(buf, id_.volume, id_.segment, id_.gen, next_block_, &blocks, &block_).Prefix(file_->name()));
    if (blocks != blocks_)
      return Corruption(file_->name() + ": block " + std::to_string(next_block_) + " says the index has " +
                        std::to_string(blocks) + " blocks, the file has " + std::to_string(blocks_));
    if (block_.empty() && next_block_ + 1 < blocks_)
      return Corruption(file_->name() + ": empty block " + std::to_string(next_block_) + " inside the index");
    for (const IndexEntry& e : block_) {
      if (e.chunk >= id_.chunk_count || (any_ && e.chunk <= last_chunk_))
        return Corruption(file_->name() + ": chunk " + std::to_string(e.chunk) + " out of order or outside the volume");
      last_chunk_ = e.chunk;
      any_ = true;
    }
    next_block_++;
  }
  // The last block is in memory: a merge over thousands of indexes must not
  // hold one descriptor per index (RLIMIT_NOFILE is often 1024).
  if (next_block_ == blocks_) file_.reset();
  return Status::Ok();
}

Status IndexCursor::Next() {
  if (++pos_ < block_.size()) return Status::Ok();
  return LoadBlock();
}

}  // namespace ddl::vol
