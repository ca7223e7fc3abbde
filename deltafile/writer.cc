// writer.cc - DeltaWriter.
#include "deltafile/writer.h"

#include <cstring>
#include <ctime>

#include "deltafile/hash.h"

namespace ddl {

namespace {
constexpr size_t kBufferSize = 1 << 20;

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
}  // namespace

DeltaWriter::DeltaWriter(File* out, const WriterOptions& o) : out_(out), opts_(o) {}
DeltaWriter::~DeltaWriter() = default;

Result<std::unique_ptr<DeltaWriter>> DeltaWriter::Create(File* out, const WriterOptions& o) {
  std::unique_ptr<DeltaWriter> w(new DeltaWriter(out, o));
  Header& h = w->h_;
  h.volume_uuid = o.volume_uuid;
  h.volume_size = o.volume_size;
  h.chunk_shift = o.chunk_shift;
  h.frame_max = o.frame_max;
  h.codec = o.level > 0 ? DDL_CODEC_ZSTD : DDL_CODEC_NONE;
  h.incompat = o.level > 0 ? DDL_INCOMPAT_ZSTD : 0;
  h.flags = o.seed ? DDL_HF_SEED : 0;
  h.create_time_ns = o.create_time_ns ? o.create_time_ns : NowNs();
  Status s = ValidateHeaderFields(h);
  if (!s.ok()) return InvalidArgument(s.message());
  w->order_ = std::make_unique<RecordOrderChecker>(w->h_);
  DeltaWriter* self = w.get();
  w->pool_ = std::make_unique<OrderedPool<EncodedRecord>>(
      o.threads, 2 * size_t(o.threads) + 2, [self](EncodedRecord&& r) { return self->Append(std::move(r)); });
  const int level = o.level;
  w->cutter_ =
      std::make_unique<RecordCutter>(o.chunk_shift, o.frame_max, o.volume_size, [self, level](RawRecord&& raw) {
        auto shared = std::make_shared<RawRecord>(std::move(raw));
        return self->pool_->Submit([shared, level] {
          return EncodeRecord(std::move(*shared), level > 0 ? ThreadCompressor(level) : nullptr);
        });
      });
  w->buf_.reserve(kBufferSize);
  uint8_t hdr[DDL_HEADER_SIZE] = {};
  if (o.header_first) {
    h.base = h.seed() ? Identity() : o.base;
    h.target = o.target;
    EncodeHeader(&h, hdr);
  }
  // Else the header slot stays zero until Finish; a crash leaves no valid magic.
  DDL_RETURN_IF_ERROR(out->WriteAt(0, hdr, sizeof hdr));
  return w;
}

Status DeltaWriter::AddChunk(uint64_t index, const uint8_t* data, const ChunkHash& old_hash) {
  if (index >= h_.chunk_count()) return InvalidArgument("chunk index past the end of the volume");
  bool zero = IsAllZero(data, h_.chunk_len(index));
  return cutter_->Add(index, data, zero, old_hash);
}

Status DeltaWriter::Flush() {
  DDL_RETURN_IF_ERROR(cutter_->Flush());
  return pool_->Drain();
}

Status DeltaWriter::Write(const void* p, size_t n) {
  file_hash_.Update(p, n);
  const uint8_t* b = static_cast<const uint8_t*>(p);
  if (buf_.size() + n > kBufferSize) DDL_RETURN_IF_ERROR(FlushBuffer());
  if (n >= kBufferSize) {
    DDL_RETURN_IF_ERROR(out_->WriteAt(pos_, b, n));
    buf_start_ += n;
  } else {
    buf_.insert(buf_.end(), b, b + n);
  }
  pos_ += n;
  return Status::Ok();
}

Status DeltaWriter::FlushBuffer() {
  if (buf_.empty()) return Status::Ok();
  DDL_RETURN_IF_ERROR(out_->WriteAt(buf_start_, buf_.data(), buf_.size()));
  buf_start_ += buf_.size();
  buf_.clear();
  return Status::Ok();
}

Status DeltaWriter::Append(EncodedRecord&& r) {
  if (finished_) return InvalidArgument("append after finish");
  r.h.seq = stats_.records;
  r.h.nhash = static_cast<uint32_t>(r.old.size());
  Status s = order_->Check(r.h);
  if (!s.ok()) return InvalidArgument("writer bug: " + s.message());
  uint8_t hdr[DDL_RECORD_SIZE];
  EncodeRecordHeader(r.h, r.old.empty() ? nullptr : r.old[0].b, hdr);
  IndexEntry e;
  e.offset = r.h.offset;
  e.length = r.h.length;
  e.file_offset = pos_;
  e.record_size = static_cast<uint32_t>(r.h.record_size());
  e.type = r.h.type;
  e.codec = r.h.codec;
  index_.push_back(e);
  DDL_RETURN_IF_ERROR(Write(hdr, sizeof hdr));
  static_assert(sizeof(ChunkHash) == DDL_HASH_SIZE, "ChunkHash is packed");
  if (!r.old.empty()) DDL_RETURN_IF_ERROR(Write(r.old.data(), r.old.size() * DDL_HASH_SIZE));
  if (!r.payload.empty()) DDL_RETURN_IF_ERROR(Write(r.payload.data(), r.payload.size()));
  stats_.records++;
  stats_.changed_chunks += r.old.size();
  if (r.h.type == DDL_REC_DATA) {
    stats_.data_records++;
    stats_.data_bytes += r.h.length;
    stats_.payload_bytes += r.h.payload_size;
  } else {
    stats_.zero_records++;
    stats_.zero_bytes += r.h.length;
  }
  return Status::Ok();
}

Status DeltaWriter::Finish(const Identity& base, const Identity& target) {
  DDL_RETURN_IF_ERROR(Flush());
  finished_ = true;
  const Identity b = h_.seed() ? Identity() : base;
  if (opts_.header_first) {
    // The header went out first; what was read since must agree with it.
    if (b != h_.base || target != h_.target)
      return Corruption(out_->name() + ": the " + (b != h_.base ? "base" : "target") + " read as " +
                        (b != h_.base ? b : target).ToString() + ", not " +
                        (b != h_.base ? h_.base : h_.target).ToString() +
                        " as written in the header: the input changed while being read");
  } else {
    h_.base = b;
    h_.target = target;
  }

  RecordHeader end;
  end.type = DDL_REC_END;
  end.seq = stats_.records;
  end.offset = h_.volume_size;
  DDL_RETURN_IF_ERROR(order_->CheckEnd(end));
  Footer f;
  f.end_offset = pos_;
  uint8_t rec[DDL_RECORD_SIZE];
  EncodeRecordHeader(end, nullptr, rec);
  DDL_RETURN_IF_ERROR(Write(rec, sizeof rec));

  f.index_offset = pos_;
  f.index_blocks = IndexBlocksFor(index_.size());
  std::vector<uint8_t> block(DDL_INDEX_BLOCK_SIZE);
  for (uint64_t b = 0; b < f.index_blocks; b++) {
    size_t first = b * DDL_INDEX_PER_BLOCK;
    size_t count = std::min<size_t>(DDL_INDEX_PER_BLOCK, index_.size() - first);
    EncodeIndexBlock(b, pos_, &index_[first], count, block.data());
    DDL_RETURN_IF_ERROR(Write(block.data(), block.size()));
  }

  uint8_t hdr[DDL_HEADER_SIZE];
  if (!opts_.header_first) EncodeHeader(&h_, hdr);
  f.record_count = stats_.records;
  f.data_bytes = stats_.data_bytes;
  f.zero_bytes = stats_.zero_bytes;
  f.payload_bytes = stats_.payload_bytes;
  f.changed_chunks = stats_.changed_chunks;
  f.header_csum = h_.header_csum;
  uint8_t foot[DDL_FOOTER_SIZE];
  EncodeFooterPrefix(f, foot);
  file_hash_.Update(foot, offsetof(ddl_footer, file_csum));
  f.file_csum = file_hash_.Digest();
  EncodeFooter(f, foot);
  DDL_RETURN_IF_ERROR(FlushBuffer());
  DDL_RETURN_IF_ERROR(out_->WriteAt(pos_, foot, sizeof foot));
  pos_ += sizeof foot;
  stats_.file_size = pos_;
  if (opts_.header_first) return Status::Ok();
  // The output may have been longer (an existing file opened for writing).
  DDL_ASSIGN_OR_RETURN(uint64_t size, out_->Size());
  if (size != pos_) DDL_RETURN_IF_ERROR(out_->Truncate(pos_));
  return out_->WriteAt(0, hdr, sizeof hdr);
}

}  // namespace ddl
