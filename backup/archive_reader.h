// archive_reader.h - reading ddloop archives front to back, never seeking
// (`ddloop restore`, ddloop-restore(8)): a file, a pipe or a tape holding
// one or more archives back to back.
//
// Member names are never trusted as paths: every member must be a regular
// file whose name is a plain file name, listed at that place by the
// archive's catalog, with the catalog's size. Anything else (absolute names,
// "..", links, device nodes, sizes the catalog does not give, a first member
// that is not a catalog) stops the restore before any byte of it is used.
//
// Errors are graded like libarchive's return codes: a damaged deltafile is
// FAILED (reported by name; the restore goes on with the next member, whose
// tar framing is intact), damage to the archive itself is FATAL (the restore
// stops). Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backup/apply.h"
#include "backup/archive_catalog.h"
#include "deltafile/io.h"

namespace ddl {

enum class Grade { kOk, kWarn, kFailed, kFatal };

struct RestoreOptions {
  Env* env = nullptr;       // default: Env::Posix()
  bool verify = false;      // check every deltafile fully (no disk space needed)
  std::string extract_dir;  // write the deltafiles here, each verified before its rename
  std::string apply_image;  // stream each deltafile into ApplyStream onto this image
  ApplyOptions apply;       // for apply_image
  // Called for every catalog as it is read (after its order is checked).
  std::function<void(const std::string& source, const Catalog& c)> on_catalog;
  std::function<void(const struct MemberResult& m)> on_member;
  // Bytes of the current member read so far, and its size.
  std::function<void(const std::string& name, uint64_t done, uint64_t total)> progress;
};

struct MemberResult {
  std::string source;  // the archive it was read from
  std::string name;
  uint64_t size = 0;
  Grade grade = Grade::kOk;
  std::string action;  // listed, verified, extracted, applied, already applied, verified (not applied)
  Status status;       // why it failed
};

struct RestoreReport {
  std::vector<std::pair<std::string, Catalog>> catalogs;  // (source, catalog) in order
  std::vector<MemberResult> members;
  int failed = 0;
  ApplyReport apply;  // summed over the applied members
};

// Reads `sources` in order. Each holds one or more archives; the archives
// of a split set must come in order, starting with archive 1, and the set
// must be complete (unless only listing: no verify, extract or apply). Returns Ok, the FATAL error, or the first FAILED
// member's error (with how many failed).
Status RestoreArchives(const std::vector<Stream*>& sources, const RestoreOptions& o, RestoreReport* report);

}  // namespace ddl
