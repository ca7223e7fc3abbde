// s3_upload_state.cc - s3_upload_state.h.
#include "backup/s3_upload_state.h"

#include "deltafile/text_record.h"

namespace ddl {

namespace {

const TextFormat& UploadStateFormat() {
  static const TextFormat f = [] {
    TextFormat t;
    t.magic = "ddloop-s3-upload 1";
    t.what = "upload state";
    t.max_bytes = 1 << 20;
    t.max_line = 16384;  // "object" holds the URL
    t.max_lines = kS3MaxParts + 16;
    t.repeatable = {"part"};
    t.accept_no_checksum = true;
    return t;
  }();
  return f;
}

}  // namespace

Result<std::string> S3UploadState::Encode(const std::string& name) const {
  TextWriter w(UploadStateFormat());
  w.Add("object", object).Add("upload_id", upload_id).AddU64("size", size).AddU64("part_size", part_size);
  for (const auto& [n, e] : etags) w.Add("part", std::to_string(n) + " " + e);
  return w.Finish(name);
}

bool S3UploadState::Decode(const std::string& text, const std::string& name) {
  *this = S3UploadState();
  Result<TextRecord> r = TextRecord::Parse(text, name, UploadStateFormat());
  if (!r.ok() || !r->GetString("object", &object).ok() || !r->GetString("upload_id", &upload_id).ok() ||
      !r->GetU64("size", &size).ok() || !r->GetU64("part_size", &part_size).ok())
    return false;
  for (const std::string& p : r->All("part")) {
    const size_t sp = p.find(' ');
    uint64_t n = 0;
    if (sp == std::string::npos || !ParseDecimalU64(std::string_view(p).substr(0, sp), &n) || n == 0 ||
        n > kS3MaxParts || sp + 1 == p.size() || !etags.emplace(n, p.substr(sp + 1)).second)
      return false;
  }
  return !upload_id.empty() && part_size > 0;
}

}  // namespace ddl
