// open_chain.cc - OpenChain.
#include "attach/open_chain.h"

#include <unistd.h>

namespace ddl::attach {

Status OpenChain(const std::string& base, const std::vector<std::string>& deltas, const std::string& cow,
                 bool create_cow, const ChainOptions& co, OpenedChain* out) {
  Env* env = Env::Posix();
  File* base_file = nullptr;
  if (!base.empty()) {
    DDL_ASSIGN_OR_RETURN(out->base_lock, FileLock::Acquire(base, LockKind::kShared));
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(base, OpenMode::kRead));
    base_file = f.get();
    out->files.push_back(std::move(f));
  }
  std::vector<File*> ds;
  for (const std::string& d : deltas) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(d, OpenMode::kRead));
    ds.push_back(f.get());
    out->files.push_back(std::move(f));
  }
  DDL_ASSIGN_OR_RETURN(out->chain, ChainReader::Open(base_file, ds, co));
  for (size_t i : out->chain->order()) out->deltas.push_back(deltas[i]);
  if (!cow.empty() && (create_cow || ::access(cow.c_str(), F_OK) == 0)) {
    DDL_ASSIGN_OR_RETURN(out->cow, CowOverlay::Open(cow, out->chain.get()));
  }
  return Status::Ok();
}

}  // namespace ddl::attach
