// hash.h - checksums, chunk hashes and the volume fingerprint (deltafile(5),
// sections CHUNKS and FINGERPRINT).
//
// Record and metadata checksums are XXH64 (seed 0): the Linux kernel has it
// (lib/xxhash.c), so the driver can verify what it reads. Chunk hashes are
// XXH3-128; the fingerprint is an additive set hash over (chunk index, chunk
// hash), so it is updated in O(changed): subtract the old element, add the
// new one. All functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "deltafile/deltafile_format.h"

namespace ddl {

uint64_t Xxh64(const void* p, size_t n);

// Streaming XXH64, for a file checksum computed as the bytes go by.
class Xxh64Stream {
 public:
  Xxh64Stream();
  ~Xxh64Stream();
  Xxh64Stream(const Xxh64Stream&) = delete;
  Xxh64Stream& operator=(const Xxh64Stream&) = delete;
  void Update(const void* p, size_t n);
  uint64_t Digest() const;

 private:
  void* state_;
};

bool IsAllZero(const void* p, size_t n);

struct ChunkHash {
  uint8_t b[DDL_HASH_SIZE] = {};
  bool IsZeroMarker() const;
  bool operator==(const ChunkHash& o) const;
  bool operator!=(const ChunkHash& o) const { return !(*this == o); }
  std::string Hex() const;
};

// H(i): the zero marker for an all-zero chunk, else XXH3-128 canonical.
ChunkHash HashChunk(const void* p, size_t n);

// Hashes one chunk delivered in pieces (a chunk larger than a record).
class ChunkHashStream {
 public:
  ChunkHashStream();
  ~ChunkHashStream();
  ChunkHashStream(const ChunkHashStream&) = delete;
  ChunkHashStream& operator=(const ChunkHashStream&) = delete;
  void Reset();
  void Update(const void* p, size_t n);
  ChunkHash Final() const;

 private:
  void* state_;
  bool all_zero_ = true;
};

struct Fingerprint {
  uint64_t lane[4] = {0, 0, 0, 0};

  void Add(uint64_t chunk_index, const ChunkHash& h);
  void Sub(uint64_t chunk_index, const ChunkHash& h);
  void Add(const Fingerprint& o);
  void Sub(const Fingerprint& o);
  bool IsZero() const { return (lane[0] | lane[1] | lane[2] | lane[3]) == 0; }
  bool operator==(const Fingerprint& o) const;
  bool operator!=(const Fingerprint& o) const { return !(*this == o); }

  void Encode(uint8_t out[DDL_FINGERPRINT_SIZE]) const;
  static Fingerprint Decode(const uint8_t in[DDL_FINGERPRINT_SIZE]);
  std::string Hex() const;  // 64 hex digits, lane 0 first, each little-endian
};

struct Uuid {
  uint8_t b[DDL_UUID_SIZE] = {};
  bool IsNil() const;
  bool operator==(const Uuid& o) const;
  bool operator!=(const Uuid& o) const { return !(*this == o); }
  std::string ToString() const;  // 8-4-4-4-12
  static bool Parse(const std::string& s, Uuid* out);
  static Uuid Random();  // version 4
  // The snapshot UUID derived from content when a writer has none.
  static Uuid ForContent(const Uuid& volume, const Fingerprint& fp);
};

}  // namespace ddl
