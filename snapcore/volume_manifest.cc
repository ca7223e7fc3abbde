// volume_manifest.cc - replay, append and rewrite of the manifest log.
#include "snapcore/volume_manifest.h"

namespace ddl::vol {

Status Manifest::Create(Env* env, const std::string& dir, const VolumeState& s) {
  if (env->Exists(ManifestPath(dir))) return InvalidArgument(ManifestPath(dir) + ": already exists");
  return WriteFileAtomic(env, ManifestPath(dir),
                         EncodeManifestRecord(RecordType::kCheckpoint, 1, s.volume, EncodeCheckpoint(s)));
}

Result<std::unique_ptr<Manifest>> Manifest::Open(Env* env, const std::string& dir, bool writable) {
  std::unique_ptr<Manifest> m(new Manifest(env, dir));
  std::string path = ManifestPath(dir);
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, writable ? OpenMode::kReadWrite : OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  if (size > (uint64_t(1) << 31)) return Corruption(path + ": implausibly large (" + std::to_string(size) + " bytes)");
  std::string bytes(size, '\0');
  if (size > 0) DDL_RETURN_IF_ERROR(f->ReadExact(0, &bytes[0], size));
  DDL_RETURN_IF_ERROR(m->Replay(bytes).Prefix(path));
  if (writable) {
    if (m->torn_bytes_ > 0) {
      DDL_RETURN_IF_ERROR(f->Truncate(m->end_));
      DDL_RETURN_IF_ERROR(f->Sync());
    }
    m->file_ = std::move(f);
  }
  return m;
}

Status Manifest::Replay(const std::string& bytes) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size(), pos = 0;
  while (pos < n) {
    std::string at = "record at offset " + std::to_string(pos);
    size_t left = n - pos;
    bool torn = false;
    Status bad;
    uint32_t len = 0;
    ManifestHeader h;
    if (left < kManifestHeader + kManifestCsum) {
      torn = true;
    } else {
      h = DecodeManifestHeader(p + pos);
      len = h.length;
      if (h.magic != kManifestMagic || len > kMaxManifestPayload) {
        bad = Corruption(at + ": bad magic or length");
      } else if (kManifestHeader + len + kManifestCsum > left) {
        torn = true;
      } else {
        size_t rec = kManifestHeader + len;
        if (StoredManifestCsum(p + pos, rec) != Xxh64(p + pos, rec)) {
          bad = Corruption(at + ": bad checksum");
          if (pos + rec + kManifestCsum == n) torn = true;  // the last record, torn by a crash
        }
      }
    }
    if (torn) {
      if (records_ == 0) return Corruption(at + ": the first record is incomplete");
      torn_bytes_ = left;
      break;
    }
    if (!bad.ok()) return bad;
    uint64_t seq = h.seq;
    const Uuid& vol = h.volume;
    RecordType type = h.type;
    if (records_ == 0) {
      if (type != RecordType::kCheckpoint) return Corruption(at + ": does not start with a checkpoint");
      state_.volume = vol;
      checkpoint_size_ = kManifestHeader + len + kManifestCsum;
    } else {
      if (vol != state_.volume) return Corruption(at + ": belongs to volume " + vol.ToString());
      if (seq != seq_ + 1)
        return Corruption(at + ": sequence " + std::to_string(seq) + ", expected " + std::to_string(seq_ + 1));
      if (type == RecordType::kCheckpoint) return Corruption(at + ": a second checkpoint");
    }
    DDL_RETURN_IF_ERROR(ApplyRecord(type, p + pos + kManifestHeader, len, &state_).Prefix(at));
    seq_ = seq;
    records_++;
    pos += kManifestHeader + len + kManifestCsum;
  }
  if (records_ == 0) return Corruption("empty manifest");
  end_ = pos;
  return Status::Ok();
}

Status Manifest::Append(RecordType t, const std::string& payload) {
  std::string path = ManifestPath(dir_);
  if (!file_) return InvalidArgument(path + ": opened read-only");
  if (broken_) return IOError(path + ": an earlier append failed; reopen the volume");
  VolumeState next = state_;
  DDL_RETURN_IF_ERROR(
      ApplyRecord(t, reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), &next).Prefix(path));
  std::string rec = EncodeManifestRecord(t, seq_ + 1, state_.volume, payload);
  Status s = file_->WriteAt(end_, rec.data(), rec.size());
  if (s.ok()) s = file_->Sync();
  if (!s.ok()) {
    broken_ = true;
    return s;
  }
  state_ = std::move(next);
  seq_++;
  records_++;
  end_ += rec.size();
  return MaybeRewrite();
}

Status Manifest::MaybeRewrite() {
  if (end_ < (1u << 20) || end_ < 8 * checkpoint_size_) return Status::Ok();
  std::string rec = EncodeManifestRecord(RecordType::kCheckpoint, seq_ + 1, state_.volume, EncodeCheckpoint(state_));
  std::string path = ManifestPath(dir_);
  Status s = WriteFileAtomic(env_, path, rec);
  if (s.ok()) {
    auto f = env_->Open(path, OpenMode::kReadWrite);
    if (f.ok()) {
      file_ = std::move(f.value());
      seq_++;
      end_ = checkpoint_size_ = rec.size();
      records_ = 1;
      return Status::Ok();
    }
    s = f.status();
  }
  broken_ = true;  // the edit is committed; only the rewrite failed
  return s;
}

}  // namespace ddl::vol
