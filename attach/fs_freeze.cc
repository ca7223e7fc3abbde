// fs_freeze.cc - FreezeFs.
#include "attach/fs_freeze.h"

namespace ddl::attach {

Status FreezeFs(const std::string& fs, bool freeze, Runner* r) {
  std::string err;
  if (r->Run({"fsfreeze", freeze ? "-f" : "-u", fs}, &err) == 0) return Status::Ok();
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return IOError(fs + ": fsfreeze " + (freeze ? "-f" : "-u") + " failed: " + err.substr(0, err.find('\n')));
}

}  // namespace ddl::attach
