// cmd_rm.cc - `ddloop rm URL NAME...`: remove deltas from a repository.
#include <memory>

#include "ddloop/command.h"
#include "ddloop/remote.h"

namespace ddl::cli {

namespace {

struct RmOptions {
  RemoteOptions remote;
  std::vector<std::string> names;
};

Status Run(const RmOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
  return RemoveDeltas(t.get(), o.names);
}

}  // namespace

Command SetupRm(CLI::App& root) {
  auto o = std::make_shared<RmOptions>();
  CLI::App* app = root.add_subcommand("rm", "Remove deltas from a repository");
  app->add_option("url", o->remote.url, "Repository URL")->required();
  app->add_option("name", o->names, "Delta names as ddloop ls shows them")->required();
  AddRemoteOptions(app, &o->remote, false);
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
