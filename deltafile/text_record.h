// text_record.h - the one codec of ddloop's small text files (apply state,
// repository catalog entries, the S3 upload state, archive catalogs,
// attachment records):
//
//   <magic line>                  e.g. "ddloop-replica-state 1"
//   key value                     in the writer's order; key [a-z0-9_]+,
//   key value                     value: the rest of the line, maybe empty
//   checksum <16 hex digits>      xxh64 of every byte before this line
//
// Every line ends with '\n'. A value holds no control character but tab
// (no CR, no NUL). A key appears once unless the format names it
// repeatable (e.g. "member" of a catalog, "part" of an upload state).
// The trailer is found by position (the last line) and form ("checksum"
// and exactly 16 hex digits), so a field may itself be called "checksum"
// with another kind of value (a catalog entry's "checksum xxh64:...").
//
// The reader is bounded by the format: total bytes, bytes per line, lines.
// The writer checks the same bounds, so it never writes what the reader
// would refuse. Getters never throw; numbers that do not fit are errors.
// Every error is one line: "NAME: damaged WHAT: DETAIL" (NAME the file the
// caller names, WHAT the format's description).
//
// Plain values: a TextFormat, a TextWriter or a TextRecord is used by one
// thread at a time; distinct objects are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "deltafile/hash.h"
#include "deltafile/status.h"

namespace ddl {

struct TextFormat {
  std::string magic;  // the whole first line, without '\n'
  std::string what;   // "replica state": errors read "NAME: damaged replica state: ..."
  size_t max_bytes = 64 << 10;
  size_t max_line = 4096;               // bytes of one line, '\n' excluded
  size_t max_lines = 256;               // magic and trailer included
  std::vector<std::string> repeatable;  // keys that may appear more than once
  // Accept, on read, a file written before this format had a checksum line
  // (then nothing guards the fields but their own checks).
  bool accept_no_checksum = false;
  // Write the trailer. Off only for a format that other, older readers
  // must still read and that they would misread with it (the repository's
  // catalog entries: an older ddloop takes the trailer for the entry's own
  // "checksum" field).
  bool write_checksum = true;
};

class TextWriter {
 public:
  explicit TextWriter(const TextFormat& f);

  TextWriter& Add(std::string_view key, std::string_view value);
  TextWriter& AddU64(std::string_view key, uint64_t v);                     // decimal
  TextWriter& AddHex64(std::string_view key, uint64_t v);                   // 16 hex digits
  TextWriter& AddFingerprint(std::string_view key, const Fingerprint& fp);  // 64 hex digits
  TextWriter& AddUuid(std::string_view key, const Uuid& u);                 // 8-4-4-4-12

  // Bytes the line `key value\n` takes.
  static size_t LineSize(std::string_view key, std::string_view value) { return key.size() + value.size() + 2; }

  // The bytes Finish() gives when it succeeds.
  size_t size() const { return body_.size() + (f_.write_checksum ? 26 : 0); }

  // The text with its trailer; or, naming `name`, the first bad key or
  // value added, or the bound the text exceeds.
  Result<std::string> Finish(const std::string& name) const;

 private:
  TextFormat f_;
  std::string body_;
  size_t lines_ = 1;
  std::string error_;  // the first problem, without the name
};

class TextRecord {
 public:
  // Checks size, magic, line syntax, bounds, duplicates and the trailer.
  static Result<TextRecord> Parse(std::string_view text, const std::string& name, const TextFormat& f);

  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // The value of a key, or nullptr. For a repeatable key, the first.
  const std::string* Find(std::string_view key) const;
  // Every value of a key, in file order.
  std::vector<std::string> All(std::string_view key) const;
  // Every field in file order (magic and trailer excluded).
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  // False for a file accepted without a trailer (TextFormat::accept_no_checksum).
  bool had_checksum() const { return had_checksum_; }

  // Required fields: a missing key is "no 'KEY' line"; a bad value names
  // the key and (up to 40 bytes of) the value.
  Status GetString(std::string_view key, std::string* out) const;
  Status GetU64(std::string_view key, uint64_t* out) const;
  Status GetHex64(std::string_view key, uint64_t* out) const;
  Status GetFingerprint(std::string_view key, Fingerprint* out) const;
  Status GetUuid(std::string_view key, Uuid* out) const;

  // "NAME: damaged WHAT: detail", Code::kCorruption.
  Status Error(const std::string& detail) const;

 private:
  // The value of `key` through `parse`; "no 'KEY' line" or "KEY 'V' is not WANT".
  Status Field(std::string_view key, const char* want, const std::function<bool(const std::string&)>& parse) const;

  std::string name_, what_;
  std::vector<std::pair<std::string, std::string>> fields_;
  bool had_checksum_ = true;
};

// Field syntax, shared by the getters and by formats with several values
// on one line (a catalog's member lines). Exact: no sign, no spaces, no
// leading "+"; false when the value does not fit.
bool ParseDecimalU64(std::string_view s, uint64_t* v);          // [0-9]{1,20}, at most 2^64-1
bool ParseFingerprintHex(std::string_view s, Fingerprint* fp);  // Fingerprint::Hex()
// [a-z0-9_]+
bool ValidTextKey(std::string_view key);

}  // namespace ddl
