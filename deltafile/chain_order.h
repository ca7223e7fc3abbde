// chain_order.h - put deltafiles given in any order into chain order.
//
// OrderChain is a pure function of the deltas' headers: it finds the
// permutation in which each delta's base is the previous delta's target, or
// says in one line (Code::kBrokenChain, naming the files) why there is none:
// deltas of different volumes, the same delta given twice, a fork (two
// deltas continuing from one identity), a join (two ending at one), a gap
// (no delta continues from an identity) or a cycle. O(N log N) in the number
// of deltas, which the caller bounds (they are command-line arguments).
//
// When the given order already chains it is kept as it is: a chain that
// returns to an identity it passed before (a volume back at an earlier
// content, whose snapshot UUID is derived from content) is ordered only when
// given in chain order, and is otherwise a fork. Thread-safe (no state).
// Used by `ddloop apply` (backup/apply.cc) and by ChainReader::Open
// (`ddloop mount`, `ddloop attach`).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "deltafile/format.h"

namespace ddl {

struct ChainOrderOptions {
  // Where the chain must start (the image's current identity). The ordered
  // chain must pass it: deltas before it are already applied.
  std::optional<Identity> start;
  // With a start: deltas before it are counted in ChainOrder::applied
  // instead of being an error.
  bool allow_applied = false;
};

struct ChainOrder {
  std::vector<size_t> order;  // indexes into the given headers, in chain order
  size_t applied = 0;         // the first `applied` of `order` lead up to the start
};

// `names[i]` names `hs[i]` in messages; both have the same, non-zero size.
// Errors: kBrokenChain as above; with a start that the chain never reaches,
// kWrongBase; with a start after some deltas and !allow_applied,
// kBrokenChain ("already applied").
Result<ChainOrder> OrderChain(const std::vector<Header>& hs, const std::vector<std::string>& names,
                              const ChainOrderOptions& o = ChainOrderOptions());

}  // namespace ddl
