// record_builder.cc - RecordCutter and EncodeRecord.
#include "deltafile/record_builder.h"

#include <algorithm>
#include <memory>

namespace ddl {

EncodedRecord EncodeRecord(RawRecord&& raw, Compressor* c) {
  EncodedRecord e;
  e.h.type = raw.type;
  e.h.offset = raw.offset;
  e.h.length = raw.length;
  e.h.nhash = static_cast<uint32_t>(raw.old.size());
  e.old = std::move(raw.old);
  if (raw.type == DDL_REC_DATA) {
    e.h.data_csum = Xxh64(raw.data.data(), raw.data.size());
    if (c != nullptr && c->Compress(raw.data.data(), raw.data.size(), &e.payload)) {
      e.h.codec = DDL_CODEC_ZSTD;
    } else {
      e.h.codec = DDL_CODEC_NONE;
      e.payload = std::move(raw.data);
    }
    e.h.payload_size = static_cast<uint32_t>(e.payload.size());
  }
  return e;
}

Compressor* ThreadCompressor(int level) {
  thread_local std::unique_ptr<Compressor> c;
  thread_local int c_level = 0;
  if (!c || c_level != level) {
    c = std::make_unique<Compressor>(level);
    c_level = level;
  }
  return c.get();
}

uint64_t RecordCutter::ChunkLen(uint64_t index) const {
  uint64_t start = index << shift_;
  uint64_t end = start + (uint64_t(1) << shift_);
  return (end > volume_size_ ? volume_size_ : end) - start;
}

Status RecordCutter::Add(uint64_t index, const uint8_t* data, bool zero, const ChunkHash& old) {
  const uint64_t len = ChunkLen(index);
  const uint16_t type = zero ? DDL_REC_ZERO : DDL_REC_DATA;
  if (open_) {
    bool fits = type == DDL_REC_DATA ? cur_.length + len <= frame_max_ : cur_.old.size() < DDL_MAX_RECORD_HASHES;
    if (cur_.type != type || index != next_index_ || !fits) DDL_RETURN_IF_ERROR(Flush());
  }
  if (type == DDL_REC_DATA && len > frame_max_) {
    // A chunk larger than a frame: consecutive DATA records; the first
    // carries the old hash.
    for (uint64_t done = 0; done < len; done += frame_max_) {
      RawRecord r;
      r.offset = (index << shift_) + done;
      r.length = std::min<uint64_t>(frame_max_, len - done);
      r.data.assign(data + done, data + done + r.length);
      if (done == 0) r.old.push_back(old);
      DDL_RETURN_IF_ERROR(emit_(std::move(r)));
    }
    return Status::Ok();
  }
  if (!open_) {
    cur_ = RawRecord();
    cur_.type = type;
    cur_.offset = index << shift_;
    if (type == DDL_REC_DATA) cur_.data.reserve(frame_max_);
    open_ = true;
  }
  cur_.length += len;
  if (type == DDL_REC_DATA) cur_.data.insert(cur_.data.end(), data, data + len);
  cur_.old.push_back(old);
  next_index_ = index + 1;
  return Status::Ok();
}

Status RecordCutter::Flush() {
  if (!open_) return Status::Ok();
  open_ = false;
  return emit_(std::move(cur_));
}

}  // namespace ddl
