// codec.cc - zstd wrappers.
#include "deltafile/codec.h"

#include <zstd.h>

namespace ddl {

Compressor::Compressor(int level) : cctx_(ZSTD_createCCtx()), level_(level) {
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_compressionLevel, level_);
  // Frames carry their content size; our own xxh64 replaces zstd's checksum.
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(cctx_), ZSTD_c_checksumFlag, 0);
}

Compressor::~Compressor() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

bool Compressor::Compress(const uint8_t* src, size_t n, std::vector<uint8_t>* out) {
  out->resize(ZSTD_compressBound(n));
  size_t r = ZSTD_compress2(static_cast<ZSTD_CCtx*>(cctx_), out->data(), out->size(), src, n);
  if (ZSTD_isError(r) || r >= n) {
    out->clear();
    return false;
  }
  out->resize(r);
  return true;
}

Decompressor::Decompressor() : dctx_(ZSTD_createDCtx()) {}
Decompressor::~Decompressor() { ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_)); }

Status Decompressor::Decompress(const uint8_t* src, size_t n, uint8_t* dst, size_t expect) {
  unsigned long long size = ZSTD_getFrameContentSize(src, n);
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size != expect)
    return Corruption("zstd frame does not declare the record's length");
  size_t r = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_), dst, expect, src, n);
  if (ZSTD_isError(r)) return Corruption(std::string("zstd: ") + ZSTD_getErrorName(r));
  if (r != expect) return Corruption("zstd frame decoded to the wrong length");
  return Status::Ok();
}

}  // namespace ddl
