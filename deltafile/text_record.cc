// text_record.cc - text_record.h.
#include "deltafile/text_record.h"

#include <algorithm>
#include <functional>
#include <unordered_set>

#include "deltafile/hex.h"

namespace ddl {

namespace {

constexpr std::string_view kTrailerKey = "checksum ";
constexpr size_t kTrailerSize = 9 + 16 + 1;  // "checksum " + 16 digits + '\n'

// A control character other than tab (CR and NUL included).
bool HasControl(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  return false;
}

std::string Shown(std::string_view v) {
  std::string s(v.substr(0, 40));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

}  // namespace

bool ValidTextKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool ParseDecimalU64(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t r = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (r > (UINT64_MAX - d) / 10) return false;
    r = r * 10 + d;
  }
  *v = r;
  return true;
}

bool ParseFingerprintHex(std::string_view s, Fingerprint* fp) {
  uint8_t b[DDL_FINGERPRINT_SIZE];
  if (!ParseHexBytes(s, b, sizeof b)) return false;
  *fp = Fingerprint::Decode(b);
  return true;
}

// ---- writer

TextWriter::TextWriter(const TextFormat& f) : f_(f), body_(f.magic + "\n") {}

TextWriter& TextWriter::Add(std::string_view key, std::string_view value) {
  if (!error_.empty()) return *this;
  if (!ValidTextKey(key)) {
    error_ = "key '" + Shown(key) + "' is not [a-z0-9_]+";
  } else if (HasControl(value)) {
    error_ = "the value of '" + std::string(key) + "' has a control character";
  } else if (LineSize(key, value) - 1 > f_.max_line) {
    error_ = "the '" + std::string(key) + "' line is longer than " + std::to_string(f_.max_line) + " bytes";
  } else if (std::find(f_.repeatable.begin(), f_.repeatable.end(), key) == f_.repeatable.end() &&
             (body_.find("\n" + std::string(key) + " ") != std::string::npos)) {
    error_ = "key '" + std::string(key) + "' added twice";
  } else {
    body_.append(key);
    body_ += ' ';
    body_.append(value);
    body_ += '\n';
    lines_++;
  }
  return *this;
}

TextWriter& TextWriter::AddU64(std::string_view key, uint64_t v) { return Add(key, std::to_string(v)); }
TextWriter& TextWriter::AddHex64(std::string_view key, uint64_t v) { return Add(key, Hex64(v)); }
TextWriter& TextWriter::AddFingerprint(std::string_view key, const Fingerprint& fp) { return Add(key, fp.Hex()); }
TextWriter& TextWriter::AddUuid(std::string_view key, const Uuid& u) { return Add(key, u.ToString()); }

Result<std::string> TextWriter::Finish(const std::string& name) const {
  auto bad = [&](const std::string& why) { return InvalidArgument(name + ": cannot write " + f_.what + ": " + why); };
  if (!error_.empty()) return bad(error_);
  if (lines_ + (f_.write_checksum ? 1 : 0) > f_.max_lines)
    return bad("more than " + std::to_string(f_.max_lines) + " lines");
  if (size() > f_.max_bytes) return bad("larger than " + std::to_string(f_.max_bytes) + " bytes");
  if (!f_.write_checksum) return body_;
  return body_ + std::string(kTrailerKey) + Hex64(Xxh64(body_.data(), body_.size())) + "\n";
}

// ---- reader

Status TextRecord::Error(const std::string& detail) const {
  return Corruption(name_ + ": damaged " + what_ + ": " + detail);
}

Result<TextRecord> TextRecord::Parse(std::string_view text, const std::string& name, const TextFormat& f) {
  TextRecord r;
  r.name_ = name;
  r.what_ = f.what;
  if (text.size() > f.max_bytes)
    return r.Error("larger than " + std::to_string(f.max_bytes) + " bytes (" + std::to_string(text.size()) + ")");
  if (text.empty()) return r.Error("empty");
  if (text.back() != '\n') return r.Error("truncated (no newline at the end)");

  // Split into lines, bounded before anything is stored.
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);  // found: text ends with '\n'
    if (nl - pos > f.max_line)
      return r.Error("line " + std::to_string(lines.size() + 1) + " is longer than " + std::to_string(f.max_line) +
                     " bytes");
    if (lines.size() == f.max_lines) return r.Error("more than " + std::to_string(f.max_lines) + " lines");
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines[0] != f.magic) return r.Error("unknown format '" + Shown(lines[0]) + "'");

  // The trailer: the last line, "checksum " and 16 hex digits.
  size_t end = lines.size();
  const std::string_view last = lines.back();
  uint64_t want = 0;
  if (lines.size() > 1 && last.size() == kTrailerSize - 1 && last.substr(0, kTrailerKey.size()) == kTrailerKey &&
      ParseHex64(last.substr(kTrailerKey.size()), &want)) {
    const size_t covered = text.size() - kTrailerSize;
    if (Xxh64(text.data(), covered) != want) return r.Error("checksum mismatch");
    end--;
  } else if (f.accept_no_checksum) {
    r.had_checksum_ = false;
    // Leave room for the trailer the writer adds: what is read can be written.
    if (f.write_checksum && lines.size() + 1 > f.max_lines)
      return r.Error("more than " + std::to_string(f.max_lines) + " lines");
    if (f.write_checksum && text.size() + kTrailerSize > f.max_bytes)
      return r.Error("larger than " + std::to_string(f.max_bytes) + " bytes (" + std::to_string(text.size()) +
                     " and a checksum line)");
  } else if (last.substr(0, kTrailerKey.size()) == kTrailerKey) {
    return r.Error("bad checksum line '" + Shown(last) + "'");
  } else {
    return r.Error("no checksum line");
  }

  // Keys seen so far, for the duplicate check: a set, so a hostile file of
  // max_lines distinct keys costs O(n), not O(n^2) (65,536 keys took 4 s).
  std::unordered_set<std::string_view> seen;
  for (size_t i = 1; i < end; i++) {
    const std::string_view line = lines[i];
    const size_t sp = line.find(' ');
    const std::string_view key = line.substr(0, sp);
    if (sp == std::string_view::npos || !ValidTextKey(key))
      return r.Error("malformed line " + std::to_string(i + 1) + " '" + Shown(line) + "'");
    const std::string_view value = line.substr(sp + 1);
    if (HasControl(value)) return r.Error("line " + std::to_string(i + 1) + " has a control character");
    const bool repeatable = std::find(f.repeatable.begin(), f.repeatable.end(), key) != f.repeatable.end();
    if (!repeatable && !seen.insert(key).second) return r.Error("key '" + std::string(key) + "' appears twice");
    r.fields_.emplace_back(std::string(key), std::string(value));
  }
  return r;
}

const std::string* TextRecord::Find(std::string_view key) const {
  for (const auto& [k, v] : fields_)
    if (k == key) return &v;
  return nullptr;
}

std::vector<std::string> TextRecord::All(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_)
    if (k == key) out.push_back(v);
  return out;
}

Status TextRecord::Field(std::string_view key, const char* want,
                         const std::function<bool(const std::string&)>& parse) const {
  const std::string* v = Find(key);
  if (v == nullptr) return Error("no '" + std::string(key) + "' line");
  if (!parse(*v)) return Error(std::string(key) + " '" + Shown(*v) + "' is not " + want);
  return Status::Ok();
}

Status TextRecord::GetString(std::string_view key, std::string* out) const {
  return Field(key, "", [&](const std::string& v) { return *out = v, true; });
}

Status TextRecord::GetU64(std::string_view key, uint64_t* out) const {
  return Field(key, "a decimal number below 2^64", [&](const std::string& v) { return ParseDecimalU64(v, out); });
}

Status TextRecord::GetHex64(std::string_view key, uint64_t* out) const {
  return Field(key, "16 hex digits", [&](const std::string& v) { return ParseHex64(v, out); });
}

Status TextRecord::GetFingerprint(std::string_view key, Fingerprint* out) const {
  return Field(key, "a fingerprint (64 hex digits)", [&](const std::string& v) { return ParseFingerprintHex(v, out); });
}

Status TextRecord::GetUuid(std::string_view key, Uuid* out) const {
  return Field(key, "a UUID", [&](const std::string& v) { return Uuid::Parse(v, out); });
}

}  // namespace ddl
