// image_fingerprint.cc - parallel whole-image fingerprint.
#include "deltafile/image_fingerprint.h"

#include <cstring>
#include <vector>

#include "deltafile/ordered_pool.h"

namespace ddl {

namespace {
constexpr uint64_t kSegment = 8 << 20;

struct SegmentResult {
  Status status;
  Fingerprint fp;
  uint64_t bytes = 0;
};
}  // namespace

Result<Fingerprint> ImageFingerprint(File* f, uint32_t chunk_shift, uint64_t volume_size, const ScanOptions& o) {
  const uint64_t chunk = uint64_t(1) << chunk_shift;
  const uint64_t seg = kSegment < chunk ? chunk : kSegment;
  Fingerprint total;
  uint64_t done = 0;
  OrderedPool<SegmentResult> pool(o.threads, 2 * size_t(o.threads) + 1, [&](SegmentResult&& r) {
    if (!r.status.ok()) return r.status;
    total.Add(r.fp);
    done += r.bytes;
    if (o.progress) o.progress(done, volume_size);
    return Status::Ok();
  });
  for (uint64_t start = 0; start < volume_size; start += seg) {
    const uint64_t len = std::min(seg, volume_size - start);
    DDL_RETURN_IF_ERROR(pool.Submit([f, start, len, chunk, chunk_shift] {
      thread_local std::vector<uint8_t> buf;
      buf.resize(len);
      SegmentResult r;
      size_t got = 0;
      r.status = f->ReadAt(start, buf.data(), len, &got);
      if (!r.status.ok()) return r;
      std::memset(buf.data() + got, 0, len - got);
      for (uint64_t off = 0; off < len; off += chunk) {
        uint64_t n = std::min(chunk, len - off);
        r.fp.Add((start + off) >> chunk_shift, HashChunk(buf.data() + off, n));
      }
      r.bytes = len;
      return r;
    }));
  }
  DDL_RETURN_IF_ERROR(pool.Drain());
  return total;
}

}  // namespace ddl
