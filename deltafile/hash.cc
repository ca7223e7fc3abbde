// hash.cc - XXH64, XXH3-128 chunk hashes, the additive fingerprint, UUIDs.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <sys/random.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "deltafile/endian.h"
#include "deltafile/hash.h"
#include "deltafile/hex.h"

namespace ddl {

uint64_t Xxh64(const void* p, size_t n) { return XXH64(p, n, 0); }

Xxh64Stream::Xxh64Stream() : state_(XXH64_createState()) { XXH64_reset(static_cast<XXH64_state_t*>(state_), 0); }
Xxh64Stream::~Xxh64Stream() { XXH64_freeState(static_cast<XXH64_state_t*>(state_)); }
void Xxh64Stream::Update(const void* p, size_t n) { XXH64_update(static_cast<XXH64_state_t*>(state_), p, n); }
uint64_t Xxh64Stream::Digest() const { return XXH64_digest(static_cast<const XXH64_state_t*>(state_)); }

bool IsAllZero(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  if (n < 16) {
    for (size_t i = 0; i < n; i++)
      if (b[i]) return false;
    return true;
  }
  static const uint8_t kZero[16] = {};
  // The first 16 bytes are zero, and every byte equals the one 16 before it.
  return std::memcmp(b, kZero, 16) == 0 && std::memcmp(b, b + 16, n - 16) == 0;
}

bool ChunkHash::IsZeroMarker() const {
  static const uint8_t kZero[DDL_HASH_SIZE] = {};
  return std::memcmp(b, kZero, sizeof b) == 0;
}
bool ChunkHash::operator==(const ChunkHash& o) const { return std::memcmp(b, o.b, sizeof b) == 0; }

std::string ChunkHash::Hex() const { return HexBytes(b, sizeof b); }

static ChunkHash FromXxh128(XXH128_hash_t h) {
  ChunkHash out;
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  std::memcpy(out.b, c.digest, sizeof out.b);
  return out;
}

ChunkHash HashChunk(const void* p, size_t n) {
  if (IsAllZero(p, n)) return ChunkHash();
  return FromXxh128(XXH3_128bits(p, n));
}

ChunkHashStream::ChunkHashStream() : state_(XXH3_createState()) { Reset(); }
ChunkHashStream::~ChunkHashStream() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }
void ChunkHashStream::Reset() {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
  all_zero_ = true;
}
void ChunkHashStream::Update(const void* p, size_t n) {
  if (all_zero_ && !IsAllZero(p, n)) all_zero_ = false;
  XXH3_128bits_update(static_cast<XXH3_state_t*>(state_), p, n);
}
ChunkHash ChunkHashStream::Final() const {
  if (all_zero_) return ChunkHash();
  return FromXxh128(XXH3_128bits_digest(static_cast<const XXH3_state_t*>(state_)));
}

// E(i) of deltafile(5): two seeded XXH3-128 over le64(i) || H(i).
static void Element(uint64_t idx, const ChunkHash& h, uint64_t e[4]) {
  uint8_t m[8 + DDL_HASH_SIZE];
  StoreLE64(m, idx);
  std::memcpy(m + 8, h.b, DDL_HASH_SIZE);
  XXH128_hash_t a = XXH3_128bits_withSeed(m, sizeof m, 0);
  XXH128_hash_t b = XXH3_128bits_withSeed(m, sizeof m, 1);
  e[0] = a.low64;
  e[1] = a.high64;
  e[2] = b.low64;
  e[3] = b.high64;
}

void Fingerprint::Add(uint64_t idx, const ChunkHash& h) {
  if (h.IsZeroMarker()) return;
  uint64_t e[4];
  Element(idx, h, e);
  for (int i = 0; i < 4; i++) lane[i] += e[i];
}
void Fingerprint::Sub(uint64_t idx, const ChunkHash& h) {
  if (h.IsZeroMarker()) return;
  uint64_t e[4];
  Element(idx, h, e);
  for (int i = 0; i < 4; i++) lane[i] -= e[i];
}
void Fingerprint::Add(const Fingerprint& o) {
  for (int i = 0; i < 4; i++) lane[i] += o.lane[i];
}
void Fingerprint::Sub(const Fingerprint& o) {
  for (int i = 0; i < 4; i++) lane[i] -= o.lane[i];
}
bool Fingerprint::operator==(const Fingerprint& o) const { return std::memcmp(lane, o.lane, sizeof lane) == 0; }
void Fingerprint::Encode(uint8_t out[DDL_FINGERPRINT_SIZE]) const {
  for (int i = 0; i < 4; i++) StoreLE64(out + 8 * i, lane[i]);
}
Fingerprint Fingerprint::Decode(const uint8_t in[DDL_FINGERPRINT_SIZE]) {
  Fingerprint f;
  for (int i = 0; i < 4; i++) f.lane[i] = LoadLE64(in + 8 * i);
  return f;
}
std::string Fingerprint::Hex() const {
  uint8_t b[DDL_FINGERPRINT_SIZE];
  Encode(b);
  return HexBytes(b, sizeof b);
}

bool Uuid::IsNil() const {
  static const uint8_t kZero[DDL_UUID_SIZE] = {};
  return std::memcmp(b, kZero, sizeof b) == 0;
}
bool Uuid::operator==(const Uuid& o) const { return std::memcmp(b, o.b, sizeof b) == 0; }

std::string Uuid::ToString() const {
  std::string h = HexBytes(b, sizeof b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

bool Uuid::Parse(const std::string& s, Uuid* out) {
  std::string hex;
  for (char c : s) {
    if (c == '-') continue;
    if (hex.size() == 32) return false;
    hex.push_back(c);
  }
  return ParseHexBytes(hex, out->b, sizeof out->b);
}

static void SetVersion(Uuid* u, int version) {
  u->b[6] = static_cast<uint8_t>((u->b[6] & 0x0f) | (version << 4));
  u->b[8] = static_cast<uint8_t>((u->b[8] & 0x3f) | 0x80);
}

Uuid Uuid::Random() {
  Uuid u;
  size_t got = 0;
  while (got < sizeof u.b) {
    ssize_t r = getrandom(u.b + got, sizeof u.b - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
  SetVersion(&u, 4);
  return u;
}

Uuid Uuid::ForContent(const Uuid& volume, const Fingerprint& fp) {
  static const char kTag[] = "ddloop-snapshot";
  uint8_t m[DDL_UUID_SIZE + DDL_FINGERPRINT_SIZE + sizeof kTag - 1];
  std::memcpy(m, volume.b, DDL_UUID_SIZE);
  fp.Encode(m + DDL_UUID_SIZE);
  std::memcpy(m + DDL_UUID_SIZE + DDL_FINGERPRINT_SIZE, kTag, sizeof kTag - 1);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(m, sizeof m));
  Uuid u;
  std::memcpy(u.b, c.digest, sizeof u.b);
  SetVersion(&u, 8);
  return u;
}

}  // namespace ddl
