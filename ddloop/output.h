// output.h - what the command prints: sizes for people, JSON for scripts,
// and a progress line on stderr when it is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "deltafile/format.h"
#include "deltafile/size_value.h"

namespace ddl::cli {

// "1.5 GiB", "512 B".
std::string HumanBytes(uint64_t n);
// Sizes given on the command line: deltafile/size_value.h (ParseSizeValue,
// ParseSize, SizeOption).

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
