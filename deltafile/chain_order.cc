// chain_order.cc - OrderChain.
#include "deltafile/chain_order.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace ddl {

namespace {

bool Less(const Identity& a, const Identity& b) {
  int c = std::memcmp(a.snapshot.b, b.snapshot.b, sizeof a.snapshot.b);
  if (c != 0) return c < 0;
  return std::lexicographical_compare(a.fingerprint.lane, a.fingerprint.lane + 4, b.fingerprint.lane,
                                      b.fingerprint.lane + 4);
}

Status Broken(const std::string& m) { return Status(Code::kBrokenChain, m); }

// Up to three names of `idx`, then how many more.
std::string Names(const std::vector<std::string>& names, const std::vector<size_t>& idx) {
  std::string s;
  for (size_t k = 0; k < idx.size() && k < 3; k++) s += (k ? ", " : "") + names[idx[k]];
  if (idx.size() > 3) s += " and " + std::to_string(idx.size() - 3) + " more";
  return s;
}

// Indexes of hs sorted by the identity `key` picks; the first pair of equal
// keys, if any, in *dup.
std::vector<size_t> SortBy(const std::vector<Header>& hs, Identity Header::*key, std::pair<size_t, size_t>* dup,
                           bool* has_dup) {
  std::vector<size_t> v(hs.size());
  for (size_t i = 0; i < v.size(); i++) v[i] = i;
  std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return Less(hs[a].*key, hs[b].*key); });
  *has_dup = false;
  for (size_t k = 1; k < v.size(); k++) {
    if (hs[v[k - 1]].*key == hs[v[k]].*key) {
      *dup = {v[k - 1], v[k]};
      *has_dup = true;
      break;
    }
  }
  return v;
}

// The index in `sorted` (sorted by `key`) of the delta whose key is `id`,
// or hs.size().
size_t Find(const std::vector<Header>& hs, const std::vector<size_t>& sorted, Identity Header::*key,
            const Identity& id) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), id,
                             [&](size_t a, const Identity& x) { return Less(hs[a].*key, x); });
  return it != sorted.end() && hs[*it].*key == id ? *it : hs.size();
}

bool Chains(const std::vector<Header>& hs) {
  for (size_t k = 1; k < hs.size(); k++)
    if (hs[k].base != hs[k - 1].target) return false;
  return true;
}

Status Order(const std::vector<Header>& hs, const std::vector<std::string>& names, const ChainOrderOptions& o,
             std::vector<size_t>* order) {
  const size_t n = hs.size();
  std::pair<size_t, size_t> d;
  bool dup = false;
  std::vector<size_t> by_base = SortBy(hs, &Header::base, &d, &dup);
  if (dup) {
    if (hs[d.first].target == hs[d.second].target)
      return Broken(names[d.first] + " and " + names[d.second] + ": the same delta given twice (base " +
                    hs[d.first].base.ToString() + ", target " + hs[d.first].target.ToString() + ")");
    return Broken(names[d.first] + " and " + names[d.second] + ": both continue from " + hs[d.first].base.ToString() +
                  " (a fork); give one branch (or, if the volume returned to that state, the deltas in chain order)");
  }
  std::vector<size_t> by_target = SortBy(hs, &Header::target, &d, &dup);
  if (dup)
    return Broken(names[d.first] + " and " + names[d.second] + ": both lead to " + hs[d.first].target.ToString() +
                  " from different bases; give one of them (or, if the volume returned to that state, the deltas in "
                  "chain order)");
  // Bases and targets are now unique: the deltas form disjoint paths and
  // cycles. A head is a delta whose base is no delta's target.
  std::vector<size_t> heads;
  for (size_t i = 0; i < n; i++)
    if (Find(hs, by_target, &Header::target, hs[i].base) == n) heads.push_back(i);
  std::vector<bool> seen(n, false);
  auto walk = [&](size_t i, std::vector<size_t>* path) {
    while (i < n && !seen[i]) {
      seen[i] = true;
      path->push_back(i);
      i = Find(hs, by_base, &Header::base, hs[i].target);
    }
  };
  if (heads.empty()) {
    std::vector<size_t> cycle;
    walk(0, &cycle);
    return Broken(Names(names, cycle) + ": form a cycle (each one's base is another's target), so none starts the " +
                  "chain; give them in chain order");
  }
  if (heads.size() > 1) {
    // Report the gap after the path from the start, or from a seed, if one
    // begins there.
    size_t first = heads[0];
    for (size_t h : heads)
      if (hs[h].seed()) first = h;
    for (size_t h : heads)
      if (o.start && hs[h].base == *o.start) first = h;
    std::vector<size_t> path;
    walk(first, &path);
    size_t other = heads[0] == first ? heads[1] : heads[0];
    return Broken(names[path.back()] + ": no delta given continues from its target " +
                  hs[path.back()].target.ToString() + ", and " + names[other] + " starts from " +
                  hs[other].base.ToString() + " (a gap: deltas are missing)");
  }
  walk(heads[0], order);
  if (order->size() < n) {
    std::vector<size_t> cycle;
    for (size_t i = 0; i < n && cycle.empty(); i++)
      if (!seen[i]) walk(i, &cycle);
    return Broken(Names(names, cycle) + ": form a cycle apart from the chain that starts at " + names[heads[0]]);
  }
  return Status::Ok();
}

}  // namespace

Result<ChainOrder> OrderChain(const std::vector<Header>& hs, const std::vector<std::string>& names,
                              const ChainOrderOptions& o) {
  if (hs.empty() || hs.size() != names.size()) return InvalidArgument("no deltafile given");
  for (size_t k = 1; k < hs.size(); k++) {
    const Header& a = hs[0];
    const Header& b = hs[k];
    if (b.volume_uuid != a.volume_uuid || b.volume_size != a.volume_size || b.chunk_shift != a.chunk_shift)
      return Broken(names[k] + ": belongs to another volume than " + names[0] +
                    " (volume UUID, size or chunk size differ)");
  }
  ChainOrder r;
  if (Chains(hs)) {
    for (size_t i = 0; i < hs.size(); i++) r.order.push_back(i);
  } else {
    DDL_RETURN_IF_ERROR(Order(hs, names, o, &r.order));
  }
  if (!o.start) return r;
  const Identity& s = *o.start;
  if (hs[r.order[0]].base != s) {
    size_t k = 0;
    while (k < r.order.size() && hs[r.order[k]].target != s) k++;
    if (k == r.order.size())
      return Status(Code::kWrongBase, names[r.order[0]] + ": the chain starts from " + hs[r.order[0]].base.ToString() +
                                          " and never passes " + s.ToString() + ", where it must start");
    r.applied = k + 1;
    if (!o.allow_applied) {
      std::vector<size_t> done(r.order.begin(), r.order.begin() + r.applied);
      return Broken(Names(names, done) + ": already applied (they lead up to " + s.ToString() + ")");
    }
  }
  return r;
}

}  // namespace ddl
