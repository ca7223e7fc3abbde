// cmd_push.cc - `ddloop push DELTA... URL`: store deltafiles in a
// repository (file://, http(s)://, s3://) with their catalog entries.
#include <memory>

#include "ddloop/command.h"
#include "ddloop/remote.h"

namespace ddl::cli {

namespace {

struct PushOptions {
  std::vector<std::string> args;  // DELTA... URL
  RemoteOptions remote;
  TransferCmdOptions transfer;
};

Status Run(PushOptions& o) {
  if (o.args.size() < 2) return InvalidArgument("push needs at least one DELTA and a URL");
  o.remote.url = o.args.back();
  std::vector<std::string> files(o.args.begin(), o.args.end() - 1);
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
  TransferRun run(o.transfer, o.remote, "push " + RedactUrl(o.remote.url));
  RepoOptions ro;
  DDL_RETURN_IF_ERROR(run.Setup(&ro));
  std::vector<FileResult> results;
  Status s = PushDeltas(t.get(), files, ro, &results);
  return run.Report(results, s, "pushed");
}

}  // namespace

Command SetupPush(CLI::App& root) {
  auto o = std::make_shared<PushOptions>();
  CLI::App* app = root.add_subcommand("push", "Upload deltafiles to a repository (directory, HTTP or S3)");
  app->add_option("args", o->args, "DELTA... URL")->required();
  AddRemoteOptions(app, &o->remote, true);
  AddTransferOptions(app, &o->transfer);
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
