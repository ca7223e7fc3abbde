// archive_writer.h - writing deltafile chains as pax tar archives
// (`ddloop archive`, ddloop-archive(8)).
//
// An archive is written in fixed-size blocks: every call of the sink is
// exactly block_size bytes, the last block included (padded with zeros), as
// a tape drive needs. A chain too big for one medium is split at deltafile
// boundaries into a numbered set of archives, each opening with its own
// catalog (archive_catalog.h). Nothing here seeks; the sink may be a pipe.
// Functions are not thread-safe with respect to the same sink.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/archive_catalog.h"
#include "deltafile/io.h"

namespace ddl {

constexpr size_t kArchiveBlockDefault = 10240;  // tar's 20 x 512
constexpr size_t kArchiveBlockMax = size_t(1) << 20;

struct ArchiveWriteOptions {
  Env* env = nullptr;                        // default: Env::Posix()
  std::string tool;                          // recorded in the catalog: "ddloop 0.1.0"
  size_t block_size = kArchiveBlockDefault;  // a multiple of 512, at most 1 MiB
  uint64_t media_size = 0;                   // 0: one archive; else split into archives of at most this
  // Bytes of deltafile data copied so far, of the whole set.
  std::function<void(const std::string& name, uint64_t done, uint64_t total)> progress;
};

// What will be written: the catalogs of the archives of the set, and the
// deltafile paths of each archive's members (same order as its catalog).
struct ArchivePlan {
  std::vector<Catalog> archives;
  std::vector<std::vector<std::string>> paths;
  uint64_t total_bytes = 0;  // deltafile bytes in the set
};

// The name of archive `number` of `count` written to `target`: the target
// itself for a single archive, else TARGET.001, TARGET.002, ...
std::string ArchiveName(const std::string& target, uint32_t number, uint32_t count);

// Reads the header, footer and index of every deltafile, checks that they
// form one chain (in the order given) under distinct safe names, and splits
// them over as many archives as o.media_size requires. No file is written.
Result<ArchivePlan> PlanArchives(const std::vector<std::string>& deltas, const std::string& target,
                                 const ArchiveWriteOptions& o);

// Receives the archive: each call is exactly one block.
using ArchiveSink = std::function<Status(const void* p, size_t n)>;

struct ArchiveWriteReport {
  uint64_t bytes = 0;   // archive bytes handed to the sink
  uint64_t blocks = 0;  // sink calls
};

// Writes archive `index` of `plan` to `sink`. While copying, each
// deltafile's whole-file checksum is recomputed and compared with its
// footer, so a file that changed since PlanArchives is refused.
Status WriteArchive(const ArchivePlan& plan, size_t index, const ArchiveSink& sink, const ArchiveWriteOptions& o,
                    ArchiveWriteReport* report);

}  // namespace ddl
