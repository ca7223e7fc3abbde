// text_fields.h - the field encodings of ddloop's small text files (replica
// state, archive catalogs): 16-digit hex checksums, decimal sizes, 64-digit
// fingerprints. Parsers accept exactly what the encoders write.
#pragma once

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "deltafile/hash.h"

namespace ddl {

inline std::string Hex64(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

inline bool ParseHex64(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 16) return false;
  char* end = nullptr;
  *v = std::strtoull(s.c_str(), &end, 16);
  return end && *end == '\0';
}

inline bool ParseU64(const std::string& s, uint64_t* v) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  char* end = nullptr;
  *v = std::strtoull(s.c_str(), &end, 10);
  return end && *end == '\0';
}

inline bool ParseFingerprint(const std::string& s, Fingerprint* fp) {
  if (s.size() != 64) return false;
  uint8_t b[DDL_FINGERPRINT_SIZE];
  for (int i = 0; i < 32; i++) {
    uint64_t v;
    if (!ParseHex64(s.substr(2 * i, 2), &v)) return false;
    b[i] = static_cast<uint8_t>(v);
  }
  *fp = Fingerprint::Decode(b);
  return true;
}

// The last line of such a file: "checksum X", X the xxh64 of every byte
// before it.
inline std::string WithChecksumLine(const std::string& body) {
  return body + "checksum " + Hex64(Xxh64(body.data(), body.size())) + "\n";
}

// Checks the checksum line of `text` and sets *body to what it covers.
// Returns nullptr, or what is wrong.
inline const char* CheckChecksumLine(const std::string& text, std::string* body) {
  size_t cpos = text.rfind("checksum ");
  if (cpos == std::string::npos || (cpos > 0 && text[cpos - 1] != '\n')) return "no checksum line";
  std::string cs = text.substr(cpos + 9);
  if (!cs.empty() && cs.back() == '\n') cs.pop_back();
  uint64_t csum = 0;
  if (!ParseHex64(cs, &csum) || csum != Xxh64(text.data(), cpos)) return "checksum mismatch";
  *body = text.substr(0, cpos);
  return nullptr;
}

}  // namespace ddl
