// output.cc - human sizes, JSON, progress line.
#include "ddloop/output.h"

#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace ddl::cli {

std::string HumanBytes(uint64_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  char b[32];
  if (u == 0)
    std::snprintf(b, sizeof b, "%" PRIu64 " B", n);
  else
    std::snprintf(b, sizeof b, "%.1f %s", v, units[u]);
  return b;
}

std::string IsoTime(uint64_t ns) {
  time_t t = static_cast<time_t>(ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

std::string Json::Quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

Json& Json::Str(const std::string& k, const std::string& v) {
  kv_.emplace_back(k, Quote(v));
  return *this;
}
Json& Json::Num(const std::string& k, uint64_t v) {
  kv_.emplace_back(k, std::to_string(v));
  return *this;
}
Json& Json::Real(const std::string& k, double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", std::isfinite(v) ? v : 0.0);
  kv_.emplace_back(k, b);
  return *this;
}
Json& Json::Bool(const std::string& k, bool v) {
  kv_.emplace_back(k, v ? "true" : "false");
  return *this;
}
Json& Json::Obj(const std::string& k, const Json& v) {
  kv_.emplace_back(k, v.Dump());
  return *this;
}
Json& Json::Arr(const std::string& k, const std::vector<Json>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); i++) o += (i ? ", " : "") + v[i].Dump();
  kv_.emplace_back(k, o + "]");
  return *this;
}
std::string Json::Dump() const {
  std::string o = "{";
  for (size_t i = 0; i < kv_.size(); i++) {
    if (i) o += ", ";
    o += Quote(kv_[i].first) + ": " + kv_[i].second;
  }
  return o + "}";
}

Json IdentityJson(const Identity& id) {
  Json j;
  j.Str("snapshot", id.snapshot.ToString()).Str("fingerprint", id.fingerprint.Hex());
  return j;
}

Progress::Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {
  start_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { Finish(); }

void Progress::Update(const std::string& label, uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (label != label_) {
    label_ = label;
    start_ = now;
  } else if (drawn_ && now - last_ < std::chrono::milliseconds(100) && done != total) {
    return;
  }
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? done / secs : 0;
  std::string line = label + "  " + HumanBytes(done);
  if (total > 0) {
    char b[64];
    std::snprintf(b, sizeof b, " / %s (%3.0f%%)", HumanBytes(total).c_str(), 100.0 * done / total);
    line += b;
  }
  if (rate > 0) line += "  " + HumanBytes(static_cast<uint64_t>(rate)) + "/s";
  if (total > 0 && rate > 0 && done < total) {
    char b[32];
    std::snprintf(b, sizeof b, "  ETA %.0fs", (total - done) / rate);
    line += b;
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  drawn_ = true;
}

void Progress::Finish() {
  if (enabled_ && drawn_) std::fprintf(stderr, "\r\033[K");
  drawn_ = false;
}

}  // namespace ddl::cli
