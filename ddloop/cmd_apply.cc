// cmd_apply.cc - `ddloop apply DELTA... IMG`: replay deltas onto an image,
// crash-safe and resumable (backup/apply.h).
#include <unistd.h>

#include <cstdio>

#include "backup/apply.h"
#include "ddloop/command.h"
#include "ddloop/output.h"

namespace ddl::cli {

namespace {

struct ApplyCmdOptions {
  std::vector<std::string> args;  // DELTA... IMG
  std::string from;               // "-": one delta from stdin
  std::string check = "auto";
  std::string state;
  std::string checkpoint = "64M";
  int threads = DefaultThreads();
  bool json = false;
  bool quiet = false;
};

// The deltas in the order applied, each marked whether the image had it.
std::vector<Json> DeltaList(const ApplyReport& rep) {
  std::vector<Json> v;
  for (size_t k = 0; k < rep.order.size(); k++) {
    Json j;
    j.Str("file", rep.order[k]).Bool("already_there", k < rep.start);
    v.push_back(j);
  }
  return v;
}

Status Run(const ApplyCmdOptions& o) {
  ApplyOptions ao;
  if (o.check == "auto")
    ao.check = BaseCheck::kAuto;
  else if (o.check == "full")
    ao.check = BaseCheck::kFull;
  else if (o.check == "quick")
    ao.check = BaseCheck::kQuick;
  else
    return InvalidArgument("--check " + o.check + ": must be auto, full or quick");
  if (!o.from.empty() && o.from != "-") return InvalidArgument("--from takes only '-' (standard input)");
  if (!o.from.empty() && o.args.size() != 1) return InvalidArgument("with --from -, give only the image");
  if (o.from.empty() && o.args.size() < 2) return InvalidArgument("give one or more deltafiles and then the image");
  DDL_RETURN_IF_ERROR(SizeOption("--checkpoint", o.checkpoint, &ao.checkpoint_bytes));
  if (ao.checkpoint_bytes == 0) return InvalidArgument("--checkpoint " + o.checkpoint + ": must be more than 0");
  ao.state_path = o.state;
  ao.threads = o.threads;
  Progress progress(!o.quiet && !o.json);
  ao.progress = [&](const std::string& name, uint64_t d, uint64_t t) { progress.Update("apply " + name, d, t); };
  ao.note = [&](const std::string& line) {
    if (o.quiet || o.json) return;
    progress.Finish();
    std::fprintf(stderr, "ddloop apply: %s\n", line.c_str());
  };
  const std::string image = o.args.back();
  ApplyReport rep;
  Status s;
  if (!o.from.empty()) {
    // Nobody types a deltafile: waiting on a terminal would wait forever.
    if (::isatty(STDIN_FILENO))
      return InvalidArgument("<stdin>: is a terminal; pipe or redirect a deltafile into apply --from -");
    FdStream in(STDIN_FILENO, "<stdin>");
    s = ApplyStream(&in, image, ao, &rep);
  } else {
    std::vector<std::string> deltas(o.args.begin(), o.args.end() - 1);
    s = ApplyChain(deltas, image, ao, &rep);
  }
  progress.Finish();
  if (!s.ok()) return s;
  if (o.json) {
    Json j;
    j.Str("image", image)
        .Num("applied", rep.applied)
        .Num("skipped", rep.skipped)
        .Bool("resumed", rep.resumed)
        .Num("bytes_written", rep.bytes_written)
        .Str("base_check", rep.base_check)
        .Arr("deltas", DeltaList(rep))
        .Obj("result", IdentityJson(rep.result));
    std::printf("%s\n", j.Dump().c_str());
  } else if (!o.quiet) {
    std::printf("%s: at %s (%d applied, %d already there%s, %s written)\n", image.c_str(),
                rep.result.ToString().c_str(), rep.applied, rep.skipped, rep.resumed ? ", resumed" : "",
                HumanBytes(rep.bytes_written).c_str());
  }
  return Status::Ok();
}

}  // namespace

Command SetupApply(CLI::App& root) {
  auto o = std::make_shared<ApplyCmdOptions>();
  CLI::App* app = root.add_subcommand("apply", "Replay deltafiles onto an image, crash-safe and resumable");
  app->add_option("args", o->args, "DELTA... IMG")->required();
  app->add_option("--from", o->from, "'-': read one deltafile from standard input");
  app->add_option("--check", o->check, "How the base is established: auto, full or quick (default auto)");
  app->add_option("--state", o->state,
                  "Replica state file (default: beside the file, or /var/lib/ddloop/replica/KEY.state for a device)");
  app->add_option("--checkpoint", o->checkpoint,
                  "Make progress durable after this much data (default 64M); a resumed apply redoes at most this");
  app->add_option("--threads", o->threads, "Threads for the base check (default: all cores)");
  app->add_flag("--json", o->json, "Print a JSON result");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
