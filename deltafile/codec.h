// codec.h - zstd compression of record payloads. One Compressor or
// Decompressor per thread (each owns a zstd context); not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "deltafile/status.h"

namespace ddl {

class Compressor {
 public:
  explicit Compressor(int level);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  // Compresses src into *out. Returns false when compression does not pay
  // (the caller then stores the bytes raw).
  bool Compress(const uint8_t* src, size_t n, std::vector<uint8_t>* out);

 private:
  void* cctx_;
  int level_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Decodes one zstd frame whose content must be exactly `expect` bytes.
  Status Decompress(const uint8_t* src, size_t n, uint8_t* dst, size_t expect);

 private:
  void* dctx_;
};

}  // namespace ddl
