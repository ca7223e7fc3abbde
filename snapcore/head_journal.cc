// head_journal.cc - replay and append of the head journal.
#include "snapcore/head_journal.h"

namespace ddl::vol {

namespace {
constexpr size_t kBatch = 16384;  // entries per record: 384 KiB
}

Result<std::unique_ptr<HeadJournal>> HeadJournal::Open(Env* env, const std::string& path, const Uuid& volume,
                                                       uint64_t segment, uint64_t chunk_count, bool writable,
                                                       std::vector<JournalEntry>* entries, bool* clean) {
  std::unique_ptr<HeadJournal> j(new HeadJournal());
  j->env_ = env;
  j->path_ = path;
  j->volume_ = volume;
  j->segment_ = segment;
  *clean = true;  // an empty (new) journal has nothing unhashed
  if (!env->Exists(path)) {
    if (!writable) return j;
    DDL_ASSIGN_OR_RETURN(j->file_, env->Open(path, OpenMode::kCreate));
    DDL_RETURN_IF_ERROR(j->file_->Sync());
    DDL_RETURN_IF_ERROR(env->SyncDirOf(path));
  } else {
    DDL_ASSIGN_OR_RETURN(j->file_, env->Open(path, writable ? OpenMode::kReadWrite : OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(uint64_t size, j->file_->Size());
    std::vector<uint8_t> bytes(size);
    if (size > 0) DDL_RETURN_IF_ERROR(j->file_->ReadExact(0, bytes.data(), size));
    size_t pos = 0;
    while (pos < size) {
      JournalType t;
      size_t rec = 0;
      size_t before = entries->size();
      Status s = DecodeJournalRecord(bytes.data() + pos, size - pos, volume, segment, j->seq_ + 1, &t, entries, &rec);
      if (!s.ok()) {
        entries->resize(before);
        break;
      }
      for (size_t i = before; i < entries->size(); i++)
        if ((*entries)[i].chunk >= chunk_count)
          return Corruption(path + ": record " + std::to_string(j->seq_ + 1) + " names chunk " +
                            std::to_string((*entries)[i].chunk) + " outside the volume");
      *clean = (t == JournalType::kClean);
      j->seq_++;
      pos += rec;
    }
    j->end_ = pos;
    j->ignored_ = size - pos;
    if (j->ignored_ > 0) *clean = false;
    if (writable && j->ignored_ > 0) {
      DDL_RETURN_IF_ERROR(j->file_->Truncate(pos));
      DDL_RETURN_IF_ERROR(j->file_->Sync());
    }
  }
  if (writable) j->buf_.resize(JournalRecordSize(kBatch));
  return j;
}

Status HeadJournal::Put(JournalType t, const JournalEntry* e, size_t n) {
  if (!file_ || buf_.empty()) return InvalidArgument(path_ + ": opened read-only");
  size_t size = JournalRecordSize(n);
  EncodeJournalRecord(t, seq_ + 1, segment_, volume_, e, n, buf_.data());
  DDL_RETURN_IF_ERROR(file_->WriteAt(end_, buf_.data(), size));
  seq_++;
  end_ += size;
  return Status::Ok();
}

Status HeadJournal::Append(const JournalEntry* e, size_t n) {
  for (size_t done = 0; done < n; done += kBatch)
    DDL_RETURN_IF_ERROR(Put(JournalType::kEntries, e + done, std::min(kBatch, n - done)));
  return file_->Sync();
}

Status HeadJournal::MarkClean() {
  DDL_RETURN_IF_ERROR(Put(JournalType::kClean, nullptr, 0));
  return file_->Sync();
}

Status HeadJournal::MarkOpen() {
  DDL_RETURN_IF_ERROR(Put(JournalType::kEntries, nullptr, 0));
  return file_->Sync();
}

Status HeadJournal::Rewrite(const std::vector<JournalEntry>& entries) {
  std::string tmp = path_ + ".tmp";
  {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env_->Open(tmp, OpenMode::kCreate));
    uint64_t seq = 0, off = 0;
    for (size_t done = 0; done < entries.size(); done += kBatch) {
      size_t n = std::min(kBatch, entries.size() - done);
      EncodeJournalRecord(JournalType::kEntries, ++seq, segment_, volume_, entries.data() + done, n, buf_.data());
      DDL_RETURN_IF_ERROR(f->WriteAt(off, buf_.data(), JournalRecordSize(n)));
      off += JournalRecordSize(n);
    }
    DDL_RETURN_IF_ERROR(f->Sync());
    seq_ = seq;
    end_ = off;
  }
  DDL_RETURN_IF_ERROR(env_->Rename(tmp, path_));
  DDL_RETURN_IF_ERROR(env_->SyncDirOf(path_));
  DDL_ASSIGN_OR_RETURN(file_, env_->Open(path_, OpenMode::kReadWrite));
  return Status::Ok();
}

}  // namespace ddl::vol
