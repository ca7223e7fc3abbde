// cmd_pull.cc - `ddloop pull URL DIR`: fetch the deltas DIR lacks (or those
// that chain after --after), verified before they appear in DIR.
#include <memory>

#include "ddloop/command.h"
#include "ddloop/remote.h"

namespace ddl::cli {

namespace {

struct PullOptions {
  std::string dir;
  std::string after;
  RemoteOptions remote;
  TransferCmdOptions transfer;
};

Status Run(const PullOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
  TransferRun run(o.transfer, o.remote, "pull " + RedactUrl(o.remote.url));
  RepoOptions ro;
  DDL_RETURN_IF_ERROR(run.Setup(&ro));
  std::vector<FileResult> results;
  Status s = PullDeltas(t.get(), o.dir, o.after, ro, &results);
  return run.Report(results, s, "pulled");
}

}  // namespace

Command SetupPull(CLI::App& root) {
  auto o = std::make_shared<PullOptions>();
  CLI::App* app = root.add_subcommand("pull", "Download verified deltafiles from a repository into a directory");
  app->add_option("url", o->remote.url, "Repository URL")->required();
  app->add_option("dir", o->dir, "Directory that receives the deltafiles")->required();
  app->add_option("--after", o->after, "Only the deltas that chain after this target (name, snapshot, fingerprint)");
  AddRemoteOptions(app, &o->remote, false);
  AddTransferOptions(app, &o->transfer);
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
