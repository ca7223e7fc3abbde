// cmd_replica_serve.cc - `ddloop replica serve R DIR`: the newest snapshot
// of a replica mounted read-only at DIR/current, switched after each sync
// (replica/serve.h). Runs in the foreground until SIGTERM or SIGINT, as a
// service manager wants it (systemd Type=simple).
#include <cstdio>
#include <memory>

#include "attach/run_program.h"
#include "ddloop/command.h"
#include "ddloop/exit_codes.h"
#include "replica/serve.h"
#include "replica/stop_signal.h"

namespace ddl::cli {

namespace {

struct ReplicaServeOptions {
  std::string replica;
  std::string dir;
  double poll = 1;
  double stop_wait = 10;
  std::string mount_options;
  bool quiet = false;
};

Status RunReplicaServe(const ReplicaServeOptions& o) {
  replica::CatchStopSignals();  // SIGTERM, SIGINT: Serve sees StopRequested and releases everything
  replica::ServeSpec s;
  s.replica_dir = o.replica;
  s.dir = o.dir;
  s.poll_seconds = o.poll;
  s.stop_wait_seconds = o.stop_wait;
  s.mount_options = o.mount_options;
  s.server_exe = attach::SelfExe();
  s.busy_exit = ExitCodeFor(Code::kBusy);
  // One line per event on stderr: the journal's under systemd.
  if (!o.quiet)
    s.log = [](const std::string& line) { std::fprintf(stderr, "ddloop replica serve: %s\n", line.c_str()); };
  s.stop = replica::StopRequested;
  return replica::Serve(s);
}

}  // namespace

Command SetupReplicaServe(CLI::App* group) {
  auto o = std::make_shared<ReplicaServeOptions>();
  CLI::App* app = group->add_subcommand("serve", "Keep the newest snapshot mounted read-only at DIR/current");
  app->add_option("R", o->replica, "Replica directory (its volume is R/volume)")->required();
  app->add_option("DIR", o->dir, "Where to serve: DIR/current and DIR/.snapshots/")->required();
  app->add_option("--poll", o->poll, "Read the manifest at least every SECONDS (default 1)");
  app->add_option("--stop-wait", o->stop_wait,
                  "On stop, wait up to SECONDS for readers before unmounting lazily (default 10)");
  app->add_option("--mount-options", o->mount_options, "More mount options after ro (e.g. noatime,nodev)");
  app->add_flag("-q,--quiet", o->quiet, "Log nothing (errors still end the command with one line)");
  return {app, [o] { return RunReplicaServe(*o); }};
}

}  // namespace ddl::cli
