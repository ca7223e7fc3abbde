// fuzz_backup_text - any bytes as one of ddloop's small text files: an
// apply state (backup/apply_state.h), a repository catalog entry
// (backup/repository.h), an archive catalog (backup/archive_catalog.h),
// or a bare record of the codec they share (deltafile/text_record.h). The
// first byte picks the parser. Each input runs as given and again with its
// last line replaced by the right checksum line, so mutations reach the
// field parsers behind the checksum. Never crashes; what a parser accepts
// encodes and decodes to the same thing, and a bare record with a checksum
// re-encodes to exactly the bytes it was read from.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backup/apply_state.h"
#include "backup/archive_catalog.h"
#include "backup/repository.h"
#include "deltafile/hex.h"
#include "deltafile/text_record.h"

namespace {

const ddl::TextFormat& BareFormat() {
  static const ddl::TextFormat f = [] {
    ddl::TextFormat t;
    t.magic = "ddloop-fuzz 1";
    t.what = "fuzz record";
    t.max_bytes = 4096;
    t.max_line = 128;
    t.max_lines = 32;
    t.repeatable = {"member"};
    t.accept_no_checksum = true;
    return t;
  }();
  return f;
}

void Run(uint8_t kind, const std::string& text) {
  using namespace ddl;
  if (kind == 0) {
    auto s = ApplyState::Decode(text, "state");
    if (s.ok()) {
      auto again = s->Encode("state");
      if (!again.ok() || !ApplyState::Decode(*again, "state").ok()) __builtin_trap();
    }
  } else if (kind == 1) {
    CatalogEntry e;
    if (CatalogEntry::Decode(text, "entry", &e).ok()) {
      auto again = e.Encode("entry");
      CatalogEntry back;
      if (!again.ok() || !CatalogEntry::Decode(*again, "entry", &back).ok() || back.size != e.size) __builtin_trap();
    }
  } else if (kind == 2) {
    auto c = Catalog::Decode(text, "catalog");
    if (c.ok()) {
      auto enc = c->Encode("catalog");
      if (!enc.ok() || enc->size() != c->EncodedSize()) __builtin_trap();
      auto again = Catalog::Decode(*enc, "catalog");
      if (!again.ok() || again->members.size() != c->members.size()) __builtin_trap();
    }
  } else {
    auto r = TextRecord::Parse(text, "record", BareFormat());
    if (!r.ok()) return;
    TextWriter w(BareFormat());
    for (const auto& [k, v] : r->fields()) w.Add(k, v);
    auto enc = w.Finish("record");
    if (!enc.ok()) __builtin_trap();
    if (r->had_checksum() && *enc != text) __builtin_trap();
    auto back = TextRecord::Parse(*enc, "record", BareFormat());
    if (!back.ok() || back->fields() != r->fields()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 4;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  Run(kind, text);
  size_t cpos = text.rfind("checksum ");
  std::string body = cpos == std::string::npos ? text : text.substr(0, cpos);
  if (!body.empty() && body.back() != '\n') body += '\n';
  Run(kind, body + "checksum " + ddl::Hex64(ddl::Xxh64(body.data(), body.size())) + "\n");
  return 0;
}
