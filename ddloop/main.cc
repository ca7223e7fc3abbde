// main.cc - the ddloop command: parse, run one subcommand, turn its Status
// into one line on stderr and an exit code.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "ddloop/command.h"
#include "ddloop/exit_codes.h"

#ifndef DDLOOP_VERSION
#define DDLOOP_VERSION "unknown"
#endif

namespace ddl::cli {

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace ddl::cli

int main(int argc, char** argv) {
  using namespace ddl::cli;
  CLI::App app("ddloop: block-level snapshot deltas (see ddloop(8))", "ddloop");
  app.set_version_flag("--version", "ddloop " DDLOOP_VERSION ", deltafile format 1");
  app.require_subcommand(1);
  std::vector<Command> commands = {SetupCreate(app), SetupInfo(app), SetupVerify(app), SetupApply(app),
                                   SetupMount(app),  SetupAttach(app), SetupDetach(app), SetupList(app),
                                   SetupArchive(app), SetupRestore(app),
                                   SetupPush(app),    SetupPull(app),   SetupLs(app),     SetupRm(app),
                                   SetupVolume(app), SetupSnapshot(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "ddloop: %s (see ddloop --help)\n", e.what());
    return kExitUsage;
  }
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    ddl::Status s = c.run();
    if (s.ok()) return kExitOk;
    std::string name = c.app->get_name();  // "volume delta", not just "volume"
    for (const CLI::App* sub : c.app->get_subcommands())
      if (sub->parsed()) name += " " + sub->get_name();
    std::fprintf(stderr, "ddloop %s: %s\n", name.c_str(), s.message().c_str());
    return ExitCodeFor(s.code());
  }
  return kExitUsage;
}
