// verify.cc - VerifyDelta.
#include "deltafile/verify.h"

#include <vector>

#include "deltafile/image_fingerprint.h"
#include "deltafile/reader.h"

namespace ddl {

Status VerifyDelta(File* delta, const VerifyOptions& o, VerifyReport* report) {
  // Structure first: a damaged footer or index is named precisely here.
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(delta));
  const Header& h = rr->header();
  report->header = h;
  report->footer = rr->footer();
  DDL_ASSIGN_OR_RETURN(report->file_size, delta->Size());

  if (o.base != nullptr) {
    DDL_ASSIGN_OR_RETURN(uint64_t bsize, o.base->Size());
    if (bsize != h.volume_size && !(h.seed() && bsize < h.volume_size))
      return Status(Code::kWrongBase, o.base->name() + ": size " + std::to_string(bsize) +
                                          " differs from the delta's volume size " + std::to_string(h.volume_size));
    ScanOptions so;
    so.threads = o.threads;
    DDL_ASSIGN_OR_RETURN(Fingerprint fp, ImageFingerprint(o.base, h.chunk_shift, h.volume_size, so));
    if (fp != h.base.fingerprint)
      return Status(Code::kWrongBase, o.base->name() + ": is not the base of " + delta->name() + " (fingerprint " +
                                          fp.Hex().substr(0, 16) + ", delta expects " +
                                          h.base.fingerprint.Hex().substr(0, 16) + ")");
  }

  // Then every byte, front to back, as a pipe reader would see it.
  FileStream in(delta);
  StreamReader sr(&in);
  DDL_RETURN_IF_ERROR(sr.ReadHeader());
  Record rec;
  std::vector<uint8_t> chunk;
  for (;;) {
    bool more = false;
    DDL_RETURN_IF_ERROR(sr.Next(&rec, &more));
    if (!more) break;
    uint64_t first = FirstChunkStarting(rec.h.offset, h.chunk_shift);
    for (size_t k = 0; k < rec.old.size(); k++) {
      if (o.base != nullptr) {
        uint64_t idx = first + k;
        chunk.resize(h.chunk_len(idx));
        size_t got = 0;
        DDL_RETURN_IF_ERROR(o.base->ReadAt(idx << h.chunk_shift, chunk.data(), chunk.size(), &got));
        std::fill(chunk.begin() + got, chunk.end(), 0);
        if (HashChunk(chunk.data(), chunk.size()) != rec.old[k])
          return Status(Code::kWrongBase, o.base->name() + ": chunk " + std::to_string(idx) +
                                              " differs from the delta's record of the base");
      }
    }
    if (o.progress) o.progress(sr.position(), report->file_size);
  }
  DDL_RETURN_IF_ERROR(sr.Finish());  // includes the fingerprint arithmetic
  report->base_checked = o.base != nullptr;
  if (o.progress) o.progress(report->file_size, report->file_size);
  return Status::Ok();
}

}  // namespace ddl
