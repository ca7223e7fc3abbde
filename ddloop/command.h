// command.h - how subcommands plug into the ddloop binary.
//
// Each subcommand lives in cmd_<name>.cc with an options struct, a Setup
// function that declares its options on a CLI11 subcommand, and a Run
// function that returns a Status. main.cc turns that Status into one line
// on stderr and an exit code (exit_codes.h); subcommands never exit.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "deltafile/status.h"

namespace ddl::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<Status()> run;
};

Command SetupCreate(CLI::App& root);
Command SetupInfo(CLI::App& root);
Command SetupVerify(CLI::App& root);
Command SetupApply(CLI::App& root);
Command SetupMount(CLI::App& root);
Command SetupAttach(CLI::App& root);
Command SetupDetach(CLI::App& root);
Command SetupList(CLI::App& root);
Command SetupArchive(CLI::App& root);
Command SetupRestore(CLI::App& root);
Command SetupPush(CLI::App& root);
Command SetupPull(CLI::App& root);
Command SetupLs(CLI::App& root);
Command SetupRm(CLI::App& root);
Command SetupVolume(CLI::App& root);    // cmd_volume.cc
Command SetupSnapshot(CLI::App& root);  // cmd_snapshot.cc
Command SetupPublish(CLI::App& root);   // cmd_publish.cc
Command SetupReplica(CLI::App& root);   // cmd_replica.cc
// `replica serve` (cmd_replica_serve.cc), added to the `replica` group.
Command SetupReplicaServe(CLI::App* group);

// Default worker threads: the machine's cores.
int DefaultThreads();

}  // namespace ddl::cli
