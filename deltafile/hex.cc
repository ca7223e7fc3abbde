// hex.cc - hex.h.
#include "deltafile/hex.h"

namespace ddl {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string Hex64(uint64_t v) {
  std::string s(16, '0');
  for (int i = 15; i >= 0; i--, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

std::string Hex0x(uint64_t v) {
  std::string digits;
  do {
    digits.insert(digits.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + digits;
}

std::string HexBytes(const void* p, size_t n) {
  const uint8_t* b = static_cast<const uint8_t*>(p);
  std::string s;
  s.reserve(2 * n);
  for (size_t i = 0; i < n; i++) {
    s.push_back(kDigits[b[i] >> 4]);
    s.push_back(kDigits[b[i] & 15]);
  }
  return s;
}

bool ParseHex64(std::string_view s, uint64_t* v) {
  if (s.size() != 16) return false;
  uint64_t r = 0;
  for (char c : s) {
    int d = DigitValue(c);
    if (d < 0 || (c >= 'A' && c <= 'F')) return false;
    r = (r << 4) | static_cast<uint64_t>(d);
  }
  *v = r;
  return true;
}

bool ParseHexBytes(std::string_view s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  for (size_t i = 0; i < s.size(); i++)
    if (DigitValue(s[i]) < 0) return false;
  for (size_t i = 0; i < n; i++) out[i] = static_cast<uint8_t>(DigitValue(s[2 * i]) << 4 | DigitValue(s[2 * i + 1]));
  return true;
}

}  // namespace ddl
