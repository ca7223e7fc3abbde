// output.h - what the command prints: sizes for people, JSON for scripts,
// and a progress line on stderr when it is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "deltafile/format.h"

namespace ddl::cli {

// "1.5 GiB", "512 B".
std::string HumanBytes(uint64_t n);
// Parses "65536", "64K", "64KiB", "1M", "2G", "1T". kTooLarge when the
// value (after the suffix) does not fit in 64 bits, kJunk on anything else
// that is not a size; *out is set only on kOk. Never throws.
enum class SizeParse { kOk, kJunk, kTooLarge };
SizeParse ParseSizeValue(const std::string& s, uint64_t* out);
// The same, false on junk or a value too large.
bool ParseSize(const std::string& s, uint64_t* out);
// The value of a size option, or the one-line error for it:
// "--block-size 99999999999999999999: too large (the most is 16 EiB)" or
// "--size 12Q: not a size (e.g. 65536, 64K, 1G)".
Status SizeOption(const std::string& option, const std::string& value, uint64_t* out);
// RFC 3339 UTC with seconds: "2026-11-25T00:40:12Z".
std::string IsoTime(uint64_t ns);

// A flat-or-nested JSON object built in order. Values are raw JSON text.
class Json {
 public:
  Json& Str(const std::string& k, const std::string& v);
  Json& Num(const std::string& k, uint64_t v);
  Json& Real(const std::string& k, double v);
  Json& Bool(const std::string& k, bool v);
  Json& Obj(const std::string& k, const Json& v);
  Json& Arr(const std::string& k, const std::vector<Json>& v);
  std::string Dump() const;
  static std::string Quote(const std::string& s);

 private:
  std::vector<std::pair<std::string, std::string>> kv_;
};

Json IdentityJson(const Identity& id);

// Redraws one status line on stderr at most 10 times a second, only when
// stderr is a terminal and not quiet. Not thread-safe.
class Progress {
 public:
  Progress(bool enabled);
  ~Progress();
  void Update(const std::string& label, uint64_t done, uint64_t total);
  void Finish();  // clears the line

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace ddl::cli
