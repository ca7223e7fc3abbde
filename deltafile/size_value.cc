// size_value.cc - size_value.h.
#include "deltafile/size_value.h"

#include <cctype>

namespace ddl {

SizeParse ParseSizeValue(const std::string& s, uint64_t* out) {
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return SizeParse::kJunk;
  // Digits by hand (std::stoull throws on 20+ digits; strtoull takes signs
  // and spaces): overflow is detected before each step.
  uint64_t v = 0;
  size_t pos = 0;
  bool too_large = false;
  for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); pos++) {
    const uint64_t d = static_cast<uint64_t>(s[pos] - '0');
    if (v > (UINT64_MAX - d) / 10)
      too_large = true;
    else
      v = v * 10 + d;
  }
  const std::string suf = s.substr(pos);
  uint64_t mul = 1;
  if (suf == "" || suf == "B")
    mul = 1;
  else if (suf == "K" || suf == "KiB" || suf == "k")
    mul = 1ull << 10;
  else if (suf == "M" || suf == "MiB")
    mul = 1ull << 20;
  else if (suf == "G" || suf == "GiB")
    mul = 1ull << 30;
  else if (suf == "T" || suf == "TiB")
    mul = 1ull << 40;
  else
    return SizeParse::kJunk;
  if (too_large || v > UINT64_MAX / mul) return SizeParse::kTooLarge;
  *out = v * mul;
  return SizeParse::kOk;
}

bool ParseSize(const std::string& s, uint64_t* out) { return ParseSizeValue(s, out) == SizeParse::kOk; }

Status SizeOption(const std::string& option, const std::string& value, uint64_t* out) {
  switch (ParseSizeValue(value, out)) {
    case SizeParse::kOk: return Status::Ok();
    case SizeParse::kTooLarge: return InvalidArgument(option + " " + value + ": too large (the most is 16 EiB)");
    case SizeParse::kJunk: break;
  }
  return InvalidArgument(option + " " + value + ": not a size (e.g. 65536, 64K, 1G)");
}

}  // namespace ddl
