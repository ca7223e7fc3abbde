// fuzz_backup_text - any bytes as one of backup/'s small text files: a
// apply state (apply_state.h), a repository catalog entry
// (repository.h), an archive catalog (archive_catalog.h). The first byte
// picks the parser. Each input runs as given and again with its last
// "checksum" line replaced by the right one (text_fields.h), so mutations
// reach the field parsers behind the checksum. Never crashes; what a
// parser accepts encodes and decodes to the same thing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backup/archive_catalog.h"
#include "backup/apply_state.h"
#include "backup/repository.h"
#include "backup/text_fields.h"

namespace {

void Run(uint8_t kind, const std::string& text) {
  using namespace ddl;
  if (kind == 0) {
    auto s = ApplyState::Decode(text, "state");
    if (s.ok() && !ApplyState::Decode(s->Encode(), "state").ok()) __builtin_trap();
  } else if (kind == 1) {
    CatalogEntry e;
    if (CatalogEntry::Decode(text, "entry", &e).ok()) {
      CatalogEntry again;
      if (!CatalogEntry::Decode(e.Encode(), "entry", &again).ok() || again.size != e.size) __builtin_trap();
    }
  } else {
    auto c = Catalog::Decode(text, "catalog");
    if (c.ok()) {
      auto again = Catalog::Decode(c->Encode(), "catalog");
      if (!again.ok() || again->members.size() != c->members.size()) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 3;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  Run(kind, text);
  size_t cpos = text.rfind("checksum ");
  std::string body = cpos == std::string::npos ? text : text.substr(0, cpos);
  if (!body.empty() && body.back() != '\n') body += '\n';
  Run(kind, ddl::WithChecksumLine(body));
  return 0;
}
