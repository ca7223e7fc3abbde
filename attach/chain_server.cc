// chain_server.cc - ServeChain.
#include "attach/chain_server.h"

#include "attach/disk_source.h"
#include "attach/open_chain.h"

namespace ddl::attach {

Status ServeChain(const ChainServeSpec& s) {
  std::shared_ptr<ServerLog> log = s.log;
  ChainOptions co;
  co.cache_bytes = static_cast<size_t>(s.cache_bytes);
  co.log = [log](const std::string& l) { (*log)(l); };
  OpenedChain op;
  DDL_RETURN_IF_ERROR(OpenChain(s.base, s.deltas, s.cow, /*create_cow=*/true, co, &op));
  FuseDiskOptions fo;
  fo.mountpoint = s.mountpoint;
  fo.foreground = s.foreground;
  fo.allow_other = s.allow_other;
  fo.max_threads = s.threads;
  fo.pid_file = s.pid_file;
  fo.log = [log](const std::string& l) { (*log)(l); };
  std::unique_ptr<DiskSource> disk = ChainDisk(op.chain.get(), op.cow.get());
  int rc = RunFuseDisk(disk.get(), fo);
  if (rc != 0) return Status(rc == 3 ? Code::kIOError : Code::kInvalidArgument, fo.mountpoint + ": mount failed");
  return Status::Ok();
}

}  // namespace ddl::attach
