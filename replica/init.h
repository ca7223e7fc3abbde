// init.h - `ddloop replica init R --from URL`: a new replica directory,
// made in a hidden directory beside R and renamed to R only when complete,
// so R never exists half made.
//
// Seeding: --seed FILE (a seed deltafile) or --seed-archive SRC (a tar or
// tape written by `ddloop archive`, read front to back: a seed and any
// deltas after it) carried in by hand: the volume starts from them, every
// snapshot under the source's identity, and sync continues from URL. The
// upstream need not be reachable then (an air-gapped site may get its
// network later); when it is, its manifest must be of the seed's volume.
// Without a seed, the upstream must answer: its manifest gives the volume,
// and the first sync pulls the seed.
#pragma once

#include <string>
#include <vector>

#include "replica/sync.h"

namespace ddl::replica {

struct InitOptions {
  std::string upstream;
  std::vector<std::string> forwards;
  std::string id;  // "": the host name
  std::string seed;
  std::string seed_archive;
  OpenTransportFn open;
  std::function<void(const std::string&)> note;
};

struct InitReport {
  Uuid volume;
  std::vector<SyncedSnapshot> seeded;
  bool upstream_checked = false;
};

Status InitReplica(const std::string& r, const InitOptions& o, InitReport* rep);

}  // namespace ddl::replica
