// main.cc - the ddloop command: parse, run one subcommand, turn its Status
// into one line on stderr and an exit code.
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "ddloop/command.h"
#include "ddloop/exit_codes.h"
#include "ddloop/version.h"

namespace ddl::cli {

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

}  // namespace ddl::cli

namespace {

// "volume delta", not just "volume".
std::string CommandName(const CLI::App* app) {
  std::string name = app->get_name();
  for (const CLI::App* sub : app->get_subcommands())
    if (sub->parsed()) name += " " + sub->get_name();
  return name;
}

int Main(int argc, char** argv, std::string* running) {
  using namespace ddl::cli;
  CLI::App app("ddloop: block-level snapshot deltas (see ddloop(8))", "ddloop");
  app.set_version_flag("--version", std::string("ddloop ") + kVersion + ", deltafile format 1");
  app.require_subcommand(1);
  std::vector<Command> commands = {SetupCreate(app),  SetupInfo(app),    SetupVerify(app), SetupApply(app),
                                   SetupMount(app),   SetupAttach(app),  SetupDetach(app), SetupList(app),
                                   SetupArchive(app), SetupRestore(app), SetupPush(app),   SetupPull(app),
                                   SetupLs(app),      SetupRm(app),      SetupVolume(app), SetupSnapshot(app),
                                   SetupPublish(app), SetupReplica(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "ddloop: %s (see ddloop --help)\n", e.what());
    return kExitUsage;
  }
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    *running = CommandName(c.app);
    ddl::Status s = c.run();
    if (s.ok()) return kExitOk;
    std::fprintf(stderr, "ddloop %s: %s\n", running->c_str(), s.message().c_str());
    return ExitCodeFor(s.code());
  }
  return kExitUsage;
}

}  // namespace

// The last line of defence: libraries return Status values and bound what
// they allocate by what a file allows, but an exception (std::bad_alloc on
// a hostile input the checks missed) must still end as one line and exit 4
// (ddloop(8) EXIT STATUS), not as an abort.
int main(int argc, char** argv) {
  std::string running;
  try {
    return Main(argc, argv, &running);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ddloop%s%s: unexpected failure: %s\n", running.empty() ? "" : " ", running.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "ddloop%s%s: unexpected failure\n", running.empty() ? "" : " ", running.c_str());
  }
  return ddl::cli::kExitCorrupt;
}
