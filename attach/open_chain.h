// open_chain.h - open a base, a chain of deltafiles and an optional COW
// scratch file as `ddloop mount` serves them and `ddloop attach` checks them.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attach/cow_overlay.h"
#include "deltafile/chain.h"
#include "deltafile/file_lock.h"

namespace ddl::attach {

struct OpenedChain {
  // A shared lock on the base while it is served, so `apply` cannot write it
  // (deltafile/file_lock.h); survives the server's fork into the background.
  std::unique_ptr<FileLock> base_lock;
  std::vector<std::unique_ptr<File>> files;
  std::unique_ptr<ChainReader> chain;
  std::vector<std::string> deltas;  // the delta paths in chain order (given in any)
  std::unique_ptr<CowOverlay> cow;  // null without a COW path (or one not created)
};

// Opens and validates everything (ChainReader::Open; the deltas in any order). With a COW path, the
// scratch file is opened, and created when create_cow; without create_cow a
// missing one is left alone (an existing one must still fit the chain).
// The base is locked shared first: kBusy while an apply writes it.
Status OpenChain(const std::string& base, const std::vector<std::string>& deltas, const std::string& cow,
                 bool create_cow, const ChainOptions& co, OpenedChain* out);

}  // namespace ddl::attach
