// s3_upload_state.h - the resume record of one S3 multipart upload, kept by
// transport_s3.cc in TransportConfig::state_dir (s3-upload-<xxh64 of the
// object's URL>): which upload id, and the ETag of every part completed,
// so an interrupted upload resumes from its last completed part.
//
//   ddloop-s3-upload 1
//   object s3://bucket/key
//   upload_id ID
//   size BYTES
//   part_size BYTES
//   part N ETAG          one per completed part, N from 1 to kS3MaxParts
//   checksum XXH64       (deltafile/text_record.h; absent in files written
//                         before it had one, which are still read)
//
// A plain value; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "deltafile/status.h"

namespace ddl {

// S3's limit of parts per upload.
constexpr uint64_t kS3MaxParts = 10000;

struct S3UploadState {
  std::string object;  // s3://bucket/key
  std::string upload_id;
  uint64_t size = 0, part_size = 0;
  std::map<uint64_t, std::string> etags;  // part number -> ETag

  // `name` prefixes errors (an ETag or id with a control character).
  Result<std::string> Encode(const std::string& name) const;
  // False for a state that is damaged or not complete: the upload starts over.
  bool Decode(const std::string& text, const std::string& name);
};

}  // namespace ddl
