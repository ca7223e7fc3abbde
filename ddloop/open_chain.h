// open_chain.h - open a base, a chain of deltafiles and an optional COW
// scratch file as `ddloop mount` serves them and `ddloop attach` checks them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deltafile/chain.h"
#include "snapcore/cow_overlay.h"

namespace ddl::cli {

struct OpenedChain {
  std::vector<std::unique_ptr<File>> files;
  std::unique_ptr<ChainReader> chain;
  std::unique_ptr<CowOverlay> cow;  // null without a COW path (or one not created)
};

// Opens and validates everything (ChainReader::Open). With a COW path, the
// scratch file is opened, and created when create_cow; without create_cow a
// missing one is left alone (an existing one must still fit the chain).
Status OpenChain(const std::string& base, const std::vector<std::string>& deltas, const std::string& cow,
                 bool create_cow, const ChainOptions& co, OpenedChain* out);

}  // namespace ddl::cli
