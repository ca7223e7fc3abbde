// volume_apply.cc - ApplyDeltaToVolume (the protocol is in volume_apply.h).
#include "snapcore/volume_apply.h"

#include <algorithm>
#include <memory>

#include "deltafile/chain.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"

namespace ddl::vol {

namespace {

constexpr size_t kZeroBuffer = 1 << 20;

Status WrongBase(const std::string& m) { return Status(Code::kWrongBase, m); }

// The live volume as a read-only File, so the deltafile library's check of
// the changed chunks' base hashes (CheckChangedChunksBase) reads the head.
class LiveVolumeFile : public File {
 public:
  explicit LiveVolumeFile(Volume* v) : File(v->dir()), v_(v) {}
  Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) override {
    *got = 0;
    if (off >= v_->size()) return Status::Ok();
    size_t len = size_t(std::min<uint64_t>(n, v_->size() - off));
    DDL_RETURN_IF_ERROR(v_->Read(off, buf, len));
    *got = len;
    return Status::Ok();
  }
  Status WriteAt(uint64_t, const void*, size_t) override { return ReadOnly(); }
  Status Sync() override { return Status::Ok(); }
  Result<uint64_t> Size() override { return v_->size(); }
  Status Truncate(uint64_t) override { return ReadOnly(); }

 private:
  Status ReadOnly() { return InvalidArgument(name() + ": read-only view of the volume"); }
  Volume* v_;
};

// Everything that can be known before the first write.
Status CheckTarget(Volume* v, const Header& h, const std::string& delta, const Identity& expect_base,
                   const VolumeApplyOptions& o) {
  const VolumeState& st = v->state();
  const std::string& dir = v->dir();
  if (h.volume_uuid != st.volume)
    return Status(Code::kForeign, delta + ": is a delta of volume " + h.volume_uuid.ToString() + ", " + dir +
                                      " is volume " + st.volume.ToString());
  if (h.volume_size != st.size || h.chunk_shift != st.chunk_shift)
    return InvalidArgument(delta + ": is for " + std::to_string(h.volume_size) + " bytes in chunks of " +
                           std::to_string(h.chunk_size()) + ", " + dir + " has " + std::to_string(st.size) +
                           " bytes in chunks of " + std::to_string(st.chunk_size()));
  if (st.revert_target != 0) return InvalidArgument(dir + ": a revert is in progress; finish it first");
  if (h.seed()) {
    if (!v->HeadClean())
      return InvalidArgument(dir + ": the head holds " + std::to_string(v->head_chunks()) +
                             " chunks of its own; revert first");
    // An all-zero origin has the zero fingerprint: zero chunks add nothing
    // (deltafile(5), FINGERPRINT).
    if (!st.snaps.empty() || !st.origin_fp.IsZero())
      return WrongBase(delta + ": is a seed, but " + dir + " has snapshots or a non-zero origin");
  } else {
    if (h.base.fingerprint != expect_base.fingerprint)
      return WrongBase(delta + ": its base is " + h.base.ToString() + ", expected " + expect_base.ToString());
    // The live content, not only the parent: after a revert to an older
    // snapshot the head holds that snapshot's content over the newest one.
    DDL_ASSIGN_OR_RETURN(Fingerprint live, v->LiveFingerprint());
    if (h.base.fingerprint != live)
      return WrongBase(delta + ": its base is " + h.base.ToString() + ", but " + dir +
                       " holds content with fingerprint " + live.Hex().substr(0, 16) +
                       (v->HeadClean() ? "" : " (its head has unsealed changes; revert first)"));
  }
  for (const SnapshotInfo& s : st.snaps)
    if (s.uuid == h.target.snapshot)
      return Status(Code::kExists, dir + ": snapshot '" + s.name + "' already has the delta's target UUID " +
                                       h.target.snapshot.ToString());
  // The name CreateSnapshot will use (the head's id does not change meanwhile).
  return CheckSnapshotName(dir, st, o.name.empty() ? "snap-" + std::to_string(st.head_id) : o.name);
}

// Writes every record of `sr` (header read) into the head.
Status WriteRecords(Volume* v, StreamReader* sr, uint64_t total, const VolumeApplyOptions& o, VolumeApplyResult* r) {
  const uint32_t shift = sr->header().chunk_shift;
  std::vector<uint8_t> zeros;
  Record rec;
  uint64_t last_chunk = UINT64_MAX;
  for (;;) {
    bool more = false;
    DDL_RETURN_IF_ERROR(sr->Next(&rec, &more));
    if (!more) break;
    if (rec.h.length == 0) continue;
    if (rec.h.type == DDL_REC_DATA) {
      DDL_RETURN_IF_ERROR(v->Write(rec.h.offset, rec.data.data(), rec.data.size()));
    } else {
      for (uint64_t done = 0; done < rec.h.length;) {
        size_t n = size_t(std::min<uint64_t>(kZeroBuffer, rec.h.length - done));
        if (zeros.size() < n) zeros.resize(n);
        DDL_RETURN_IF_ERROR(v->Write(rec.h.offset + done, zeros.data(), n));
        done += n;
      }
    }
    // A chunk split between two records counts once.
    uint64_t first = rec.h.offset >> shift, last = (rec.h.offset + rec.h.length - 1) >> shift;
    r->chunks_written += last - first + 1 - (first == last_chunk ? 1 : 0);
    last_chunk = last;
    r->bytes_written += rec.h.length;
    if (o.progress) o.progress(sr->position(), total);
  }
  return Status::Ok();
}

}  // namespace

Status ApplyDeltaToVolume(Env* env, Volume* v, const std::string& delta, const Identity& expect_base,
                          const VolumeApplyOptions& o, VolumeApplyResult* r) {
  *r = VolumeApplyResult();
  if (!v->writable()) return InvalidArgument(v->dir() + ": the volume is open read-only");
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(delta, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(uint64_t total, f->Size());
  {
    // Every record, the index, the file checksum and the fingerprint
    // arithmetic, before a byte of the volume is touched.
    VerifyOptions vo;
    VerifyReport vr;
    DDL_RETURN_IF_ERROR(VerifyDelta(f.get(), vo, &vr));
  }
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
  const Header h = rr->header();
  DDL_RETURN_IF_ERROR(CheckTarget(v, h, delta, expect_base, o));
  {
    LiveVolumeFile live(v);
    DDL_RETURN_IF_ERROR(CheckChangedChunksBase(&live, *rr));
  }
  rr.reset();

  FileStream in(f.get());
  StreamReader sr(&in);
  DDL_RETURN_IF_ERROR(sr.ReadHeader());
  if (sr.header().header_csum != h.header_csum) return Corruption(delta + ": changed while being applied");
  DDL_RETURN_IF_ERROR(WriteRecords(v, &sr, total, o, r));
  // Read again as the records went by: the bytes written are the verified ones.
  DDL_RETURN_IF_ERROR(sr.Finish());
  DDL_RETURN_IF_ERROR(v->Flush());
  SnapshotSpec spec;
  spec.name = o.name;
  spec.uuid = h.target.snapshot;
  spec.check_fingerprint = true;
  spec.fingerprint = h.target.fingerprint;
  spec.create_ns = o.create_ns;
  DDL_ASSIGN_OR_RETURN(r->snapshot, v->CreateSnapshot(spec));
  if (o.progress) o.progress(total, total);
  return Status::Ok();
}

}  // namespace ddl::vol
