// endian.h - little-endian loads and stores for on-disk fields.
// The format is little-endian; these are the only place that converts.
#pragma once

#include <cstdint>
#include <cstring>

namespace ddl {

inline uint16_t LoadLE16(const void* p) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
inline uint32_t LoadLE32(const void* p) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}
inline uint64_t LoadLE64(const void* p) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  return uint64_t(LoadLE32(b)) | uint64_t(LoadLE32(b + 4)) << 32;
}
inline void StoreLE16(void* p, uint16_t v) {
  uint8_t* b = static_cast<uint8_t*>(p);
  b[0] = uint8_t(v);
  b[1] = uint8_t(v >> 8);
}
inline void StoreLE32(void* p, uint32_t v) {
  uint8_t* b = static_cast<uint8_t*>(p);
  for (int i = 0; i < 4; i++) b[i] = uint8_t(v >> (8 * i));
}
inline void StoreLE64(void* p, uint64_t v) {
  StoreLE32(p, uint32_t(v));
  StoreLE32(static_cast<uint8_t*>(p) + 4, uint32_t(v >> 32));
}

}  // namespace ddl
