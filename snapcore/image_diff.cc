// image_diff.cc - CreateDeltaFromImages.
#include "snapcore/image_diff.h"

#include <fcntl.h>

#include <cstring>
#include <vector>

namespace ddl {

namespace {

constexpr uint64_t kSegment = 8 << 20;

struct SegmentOut {
  Status status;
  std::vector<EncodedRecord> records;
  Fingerprint base_fp;
  Fingerprint target_fp;
  uint64_t bytes = 0;
};

Status ReadSegment(File* f, uint64_t off, uint8_t* buf, size_t len) {
  size_t got = 0;
  DDL_RETURN_IF_ERROR(f->ReadAt(off, buf, len, &got));
  if (got != len)
    return Truncated(f->name() + ": shrank while being read (short read at byte " + std::to_string(off + got) + ")");
  return Status::Ok();
}

SegmentOut DiffSegment(File* old_img, File* new_img, uint64_t start, uint64_t len, const WriterOptions& w) {
  thread_local std::vector<uint8_t> ob, nb;
  SegmentOut out;
  nb.resize(len);
  out.status = ReadSegment(new_img, start, nb.data(), len);
  if (!out.status.ok()) return out;
  if (old_img != nullptr) {
    ob.resize(len);
    out.status = ReadSegment(old_img, start, ob.data(), len);
    if (!out.status.ok()) return out;
  }
  const uint64_t chunk = uint64_t(1) << w.chunk_shift;
  Compressor* comp = w.level > 0 ? ThreadCompressor(w.level) : nullptr;
  RecordCutter cutter(w.chunk_shift, w.frame_max, w.volume_size, [&](RawRecord&& raw) {
    out.records.push_back(EncodeRecord(std::move(raw), comp));
    return Status::Ok();
  });
  for (uint64_t off = 0; off < len; off += chunk) {
    const uint64_t n = std::min(chunk, len - off);
    const uint64_t idx = (start + off) >> w.chunk_shift;
    const uint8_t* np = nb.data() + off;
    if (old_img != nullptr && std::memcmp(ob.data() + off, np, n) == 0) {
      ChunkHash h = HashChunk(np, n);
      out.base_fp.Add(idx, h);
      out.target_fp.Add(idx, h);
      continue;
    }
    ChunkHash ho = old_img != nullptr ? HashChunk(ob.data() + off, n) : ChunkHash();
    ChunkHash hn = HashChunk(np, n);
    if (old_img == nullptr && hn.IsZeroMarker()) continue;  // seed: zero is the base
    out.base_fp.Add(idx, ho);
    out.target_fp.Add(idx, hn);
    out.status = cutter.Add(idx, np, hn.IsZeroMarker(), ho);
    if (!out.status.ok()) return out;
  }
  out.status = cutter.Flush();
  out.bytes = len;
  return out;
}

}  // namespace

Status CreateDeltaFromImages(File* old_img, File* new_img, File* out, const ImageDiffOptions& o,
                             ImageDiffResult* result) {
  DDL_ASSIGN_OR_RETURN(uint64_t size, new_img->Size());
  if (size == 0 || size % 512 != 0)
    return InvalidArgument(new_img->name() + ": size " + std::to_string(size) + " is not a positive multiple of 512");
  if (old_img != nullptr) {
    DDL_ASSIGN_OR_RETURN(uint64_t osize, old_img->Size());
    if (osize != size)
      return InvalidArgument(old_img->name() + ": size " + std::to_string(osize) + " differs from " + new_img->name() +
                             " (" + std::to_string(size) + "); images of one volume have one size");
  }
  WriterOptions w = o.writer;
  w.volume_size = size;
  w.seed = old_img == nullptr;
  const int threads = w.threads < 1 ? 1 : w.threads;
  w.threads = 0;  // records are compressed by the segment workers below
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<DeltaWriter> writer, DeltaWriter::Create(out, w));

  Fingerprint base_fp, target_fp;
  uint64_t done = 0;
  OrderedPool<SegmentOut> pool(threads, 2 * size_t(threads), [&](SegmentOut&& s) {
    if (!s.status.ok()) return s.status;
    for (EncodedRecord& r : s.records) DDL_RETURN_IF_ERROR(writer->Append(std::move(r)));
    base_fp.Add(s.base_fp);
    target_fp.Add(s.target_fp);
    done += s.bytes;
    if (o.progress) o.progress(done, size);
    return Status::Ok();
  });
  const uint64_t seg = std::max<uint64_t>(kSegment, uint64_t(1) << w.chunk_shift);
  for (uint64_t start = 0; start < size; start += seg) {
    const uint64_t len = std::min(seg, size - start);
    DDL_RETURN_IF_ERROR(pool.Submit([=] { return DiffSegment(old_img, new_img, start, len, w); }));
  }
  DDL_RETURN_IF_ERROR(pool.Drain());

  result->volume_size = size;
  result->base.fingerprint = base_fp;
  result->base.snapshot = old_img == nullptr        ? Uuid()
                          : o.base_snapshot.IsNil() ? Uuid::ForContent(w.volume_uuid, base_fp)
                                                    : o.base_snapshot;
  result->target.fingerprint = target_fp;
  result->target.snapshot = o.target_snapshot.IsNil() ? Uuid::ForContent(w.volume_uuid, target_fp) : o.target_snapshot;
  DDL_RETURN_IF_ERROR(writer->Finish(result->base, result->target));
  result->stats = writer->stats();
  return Status::Ok();
}

}  // namespace ddl
