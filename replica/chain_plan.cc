#include "replica/chain_plan.h"

#include <set>

namespace ddl::replica {

namespace {

// Newest position in `held` with this fingerprint, or -1.
int NewestHeld(const std::vector<Identity>& held, const std::string& fp) {
  for (int i = int(held.size()) - 1; i >= 0; i--)
    if (held[i].fingerprint.Hex() == fp) return i;
  return -1;
}

}  // namespace

Result<SyncPlan> PlanSync(const std::vector<CatalogEntry>& entries, const Identity& head, const std::string& head_entry,
                          const std::vector<Identity>& held, const std::string& url) {
  SyncPlan plan;
  std::string cur = head.fingerprint.Hex();
  plan.base = NewestHeld(held, cur);
  if (plan.base >= 0) {
    plan.up_to_date = true;
    return plan;
  }
  std::vector<CatalogEntry> back;  // HEAD first
  std::set<std::string> visited = {cur};
  // Every step consumes a distinct fingerprint: at most entries.size() steps.
  for (size_t step = 0; step <= entries.size(); step++) {
    const CatalogEntry* pick = nullptr;
    int pick_rank = -1;  // 3: base held, 2: HEAD's own entry, 1: incremental, 0: seed
    for (const CatalogEntry& e : entries) {
      if (e.target_fingerprint != cur) continue;
      int rank = e.seed ? 0 : 1;
      if (step == 0 && e.name == head_entry && rank > 0) rank = 2;
      if (!e.seed && NewestHeld(held, e.base_fingerprint) >= 0) rank = 3;
      if (rank > pick_rank) pick = &e, pick_rank = rank;
    }
    if (!pick)
      return Status(Code::kBrokenChain, url + ": the chain to HEAD is broken: no delta has the target " +
                                            cur.substr(0, 16) + " (a delta was removed by hand?)");
    back.push_back(*pick);
    if (pick->seed) {
      if (!held.empty())
        return Status(Code::kNeedsReseed,
                      url +
                          ": needs a reseed: no snapshot this replica holds is a base of the chain to HEAD "
                          "(pruned upstream, or the source went back past them)");
      break;
    }
    int b = NewestHeld(held, pick->base_fingerprint);
    if (b >= 0) {
      plan.base = b;
      break;
    }
    cur = pick->base_fingerprint;
    if (!visited.insert(cur).second)
      return Status(Code::kBrokenChain, url + ": the catalog's deltas form a cycle at " + cur.substr(0, 16));
  }
  if (back.empty() || (plan.base < 0 && !back.back().seed))
    return Status(Code::kBrokenChain, url + ": the chain to HEAD does not end at a seed");
  plan.path.assign(back.rbegin(), back.rend());
  return plan;
}

}  // namespace ddl::replica
