// cmd_replica.cc - TEMPORARY (helper branch h-serve): the `replica` group
// with only `serve`, so the serve command can be tested before the lead's
// cmd_replica.cc (sync, init, ...) lands. Replace this file by the lead's,
// which calls SetupReplicaServe(app).
#include "ddloop/command.h"
#include "ddloop/volume_commands.h"

namespace ddl::cli {

Command SetupReplica(CLI::App& root) {
  CLI::App* app = root.add_subcommand("replica", "Replicas: sync from a repository, serve the newest snapshot");
  return CommandGroup(app, {SetupReplicaServe(app)});
}

}  // namespace ddl::cli
