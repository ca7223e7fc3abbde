// archive_catalog.h - the catalog that opens every ddloop archive
// (ddloop-archive(8), CATALOG FORMAT).
//
// An archive is a pax tar file: first the member kCatalogName, then the
// deltafiles it lists, in chain order. The catalog says which chain the
// deltafiles belong to, what each one is (size, checksums, identities), and,
// for a set split over several media, which archive of the set this is and
// what comes next. It is a small line-oriented text file ending with an
// xxh64 of everything before it; a damaged catalog is refused, never trusted.
// Plain values; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/format.h"

namespace ddl {

// The name of the first member of every archive ddloop writes.
constexpr const char* kCatalogName = "ddloop-catalog.txt";
// Largest catalog, in bytes: the reader refuses a bigger one, so the writer
// never makes one (PlanArchives splits the chain, or refuses up front).
// A member line takes about 300 bytes: some 3,300 deltafiles per archive.
constexpr uint64_t kCatalogMax = 1 << 20;
// Most archives in one set, for the reader and the writer alike.
constexpr uint32_t kArchiveSetMax = 100000;

struct CatalogMember {
  std::string name;          // a plain file name (SafeMemberName)
  uint64_t size = 0;         // bytes of the deltafile
  uint64_t header_csum = 0;  // the deltafile's header checksum
  uint64_t file_csum = 0;    // its footer's file_csum (xxh64 of bytes 512..end-16)
  Uuid volume;
  uint64_t volume_size = 0;
  bool seed = false;
  Identity base;
  Identity target;
};

struct Catalog {
  std::string tool;         // "ddloop 0.1.0"
  uint64_t created_ns = 0;  // when the set was written
  Uuid set;                 // shared by every archive of one split set
  uint32_t number = 1;      // this archive is `number` of `count`
  uint32_t count = 1;
  std::string first_archive;  // names as written (informational)
  std::string this_archive;
  std::string next_archive;   // empty for the last archive of the set
  std::string next_member;    // first deltafile of the next archive, or empty
  uint64_t chain_first = 1;   // position of members[0] in the set's chain (1-based)
  uint64_t chain_length = 0;  // deltafiles in the whole set
  std::vector<CatalogMember> members;

  // The catalog's text (deltafile/text_record.h); `name` prefixes errors
  // (a name with a control character, a line over the reader's bound).
  Result<std::string> Encode(const std::string& name) const;
  // The bytes Encode() gives when it succeeds.
  size_t EncodedSize() const;
  // The bytes the line of `m` adds to Encode().
  static size_t MemberLineSize(const CatalogMember& m);
  // Checks magic, checksum, every field, that member names are safe and that
  // the members chain. `name` prefixes every error.
  static Result<Catalog> Decode(const std::string& text, const std::string& name);
};

// A member name that is safe to create inside a directory: not empty, no
// '/', not "." or "..", no control characters, at most 255 bytes, and not
// the catalog's name.
bool SafeMemberName(const std::string& name);

// The catalog's description of a deltafile, from its header and footer.
CatalogMember DescribeMember(const std::string& name, uint64_t size, const Header& h, const Footer& f);

// Empty when the header h (and footer f, when given) read from an archive
// are those of the deltafile `want` describes;
// else what differs, e.g. "header checksum 1234... differs from the catalog's 5678...".
std::string MemberMismatch(const CatalogMember& want, const Header& h, const Footer* f);

}  // namespace ddl
