// cmd_mount.cc - `ddloop mount [--base IMG] DELTA... MOUNTPOINT`: show the
// volume at the last delta's target as MOUNTPOINT/disk (FUSE).
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "ddloop/command.h"
#include "ddloop/fuse_disk.h"
#include "ddloop/open_chain.h"
#include "ddloop/output.h"
#include "ddloop/run_program.h"

namespace ddl::cli {

namespace {

struct MountOptions {
  std::vector<std::string> args;  // DELTA... MOUNTPOINT
  std::string base;
  std::string cow;
  std::string cache_size = "16M";
  std::string log_file;
  std::string pid_file;
  int threads = 8;
  bool foreground = false;
  bool allow_other = false;
};

Status Run(const MountOptions& o) {
  if (o.args.size() < 2) return InvalidArgument("give one or more deltafiles and then the mount point");
  if (o.threads < 1 || o.threads > 64) return InvalidArgument("--threads must be 1 to 64");
  std::vector<std::string> deltas(o.args.begin(), o.args.end() - 1);
  // The server changes to / when it goes to the background: anchor paths now.
  auto logger = std::make_shared<ServerLog>("ddloop mount", AbsolutePath(o.log_file));
  uint64_t cache = 0;
  DDL_RETURN_IF_ERROR(SizeOption("--cache-size", o.cache_size, &cache));
  ChainOptions co;
  co.cache_bytes = static_cast<size_t>(cache);
  co.log = [logger](const std::string& l) { (*logger)(l); };
  OpenedChain op;
  DDL_RETURN_IF_ERROR(OpenChain(o.base, deltas, o.cow, /*create_cow=*/true, co, &op));
  FuseDiskOptions fo;
  fo.mountpoint = o.args.back();
  fo.foreground = o.foreground;
  fo.allow_other = o.allow_other;
  fo.max_threads = o.threads;
  fo.pid_file = AbsolutePath(o.pid_file);
  fo.log = [logger](const std::string& l) { (*logger)(l); };
  std::unique_ptr<DiskSource> disk = ChainDisk(op.chain.get(), op.cow.get());
  int rc = RunFuseDisk(disk.get(), fo);
  if (rc != 0) return Status(rc == 3 ? Code::kIOError : Code::kInvalidArgument, fo.mountpoint + ": mount failed");
  return Status::Ok();
}

}  // namespace

Command SetupMount(CLI::App& root) {
  auto o = std::make_shared<MountOptions>();
  CLI::App* app = root.add_subcommand("mount", "Show a base plus a chain of deltafiles as MOUNTPOINT/disk (FUSE)");
  app->add_option("args", o->args, "DELTA... MOUNTPOINT")->required();
  app->add_option("--base", o->base, "Base image or block device (omit when the first delta is a seed)");
  app->add_option("--cow", o->cow, "Make disk writable; writes go to this sparse scratch file");
  app->add_option("--cache-size", o->cache_size, "Decoded records kept in memory (default 16M)");
  app->add_option("--threads", o->threads, "FUSE worker threads (default 8)");
  app->add_option("--log", o->log_file, "Append read errors and events to this file");
  app->add_option("--pid-file", o->pid_file, "Write the serving process's PID here once mounted");
  app->add_flag("-f,--foreground", o->foreground, "Stay in the foreground (default: return once mounted)");
  app->add_flag("--allow-other", o->allow_other, "Let other users read the mount (FUSE allow_other)");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
