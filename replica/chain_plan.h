// chain_plan.h - what a replica must do to reach its upstream's HEAD: a
// pure function of the catalog, HEAD and the snapshots the replica holds,
// so that every case (up to date, a plain increment, the source went back,
// the base was pruned, nothing in common) is decided in one place and
// tested without servers.
//
// The walk goes back from HEAD's target along catalog entries (each step:
// the entry whose target is the current identity, preferring one whose base
// the replica holds) until it reaches a base the replica holds, by
// fingerprint. That base is the newest common point: the replica goes back
// to it (its own revert) when it is not its newest snapshot, then applies
// the path forward. Reaching a seed first means nothing the replica holds
// leads to HEAD: a reseed (kNeedsReseed), unless the replica holds nothing
// yet, when the seed is where it starts.
#pragma once

#include <string>
#include <vector>

#include "backup/repository.h"
#include "deltafile/format.h"

namespace ddl::replica {

struct SyncPlan {
  bool up_to_date = false;
  // Index into `held` of the snapshot the path starts from; -1 with an empty
  // replica (the path starts with a seed).
  int base = -1;
  std::vector<CatalogEntry> path;  // in apply order
};

// `held`: the replica's snapshots, oldest first. `head_entry`: the catalog
// entry HEAD names (preferred when several deltas have HEAD's target).
// kNeedsReseed or kBrokenChain (a target no entry provides) name `url`.
Result<SyncPlan> PlanSync(const std::vector<CatalogEntry>& entries, const Identity& head, const std::string& head_entry,
                          const std::vector<Identity>& held, const std::string& url);

}  // namespace ddl::replica
