// cmd_mount.cc - `ddloop mount [--base IMG] DELTA... MOUNTPOINT`: show the
// volume at the last delta's target as MOUNTPOINT/disk (attach/chain_server.h).
#include <cstdio>
#include <ctime>
#include <memory>

#include "attach/chain_server.h"
#include "attach/run_program.h"
#include "ddloop/command.h"
#include "ddloop/output.h"

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
  attach::ChainServeSpec s;
  s.deltas.assign(o.args.begin(), o.args.end() - 1);
  s.mountpoint = o.args.back();
  // The server changes to / when it goes to the background: anchor paths now.
  s.log = std::make_shared<attach::ServerLog>("ddloop mount", attach::AbsolutePath(o.log_file),
                                              [] { return IsoTime(uint64_t(time(nullptr)) * 1000000000ull); });
  DDL_RETURN_IF_ERROR(SizeOption("--cache-size", o.cache_size, &s.cache_bytes));
  s.base = o.base;
  s.cow = o.cow;
  s.foreground = o.foreground;
  s.allow_other = o.allow_other;
  s.threads = o.threads;
  s.pid_file = attach::AbsolutePath(o.pid_file);
  return attach::ServeChain(s);
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
