// cmd_verify.cc - `ddloop verify FILE [--base IMG]`: check every byte of a
// deltafile, and with --base that applying it to IMG gives the target.
#include <cstdio>
#include <memory>

#include "ddloop/command.h"
#include "ddloop/output.h"
#include "deltafile/verify.h"

namespace ddl::cli {

namespace {

struct VerifyCmdOptions {
  std::string file;
  std::string base;
  int threads = DefaultThreads();
  bool json = false;
  bool quiet = false;
};

Status Run(const VerifyCmdOptions& o) {
  Env* env = Env::Posix();
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(o.file, OpenMode::kRead));
  std::unique_ptr<File> base;
  if (!o.base.empty()) {
    DDL_ASSIGN_OR_RETURN(base, env->Open(o.base, OpenMode::kRead));
  }
  Progress progress(!o.quiet && !o.json);
  VerifyOptions vo;
  vo.base = base.get();
  vo.threads = o.threads;
  vo.progress = [&](uint64_t d, uint64_t t) { progress.Update("verify " + o.file, d, t); };
  VerifyReport rep;
  Status s = VerifyDelta(f.get(), vo, &rep);
  progress.Finish();
  if (!s.ok()) return s;
  if (o.json) {
    Json j;
    j.Str("file", o.file)
        .Bool("ok", true)
        .Bool("base_checked", rep.base_checked)
        .Num("records", rep.footer.record_count)
        .Num("file_size", rep.file_size)
        .Obj("target", IdentityJson(rep.header.target));
    std::printf("%s\n", j.Dump().c_str());
  } else if (!o.quiet) {
    std::printf("%s: OK (%llu records, %s)%s\n", o.file.c_str(), (unsigned long long)rep.footer.record_count,
                HumanBytes(rep.file_size).c_str(), rep.base_checked ? (", " + o.base + " is its base").c_str() : "");
  }
  return Status::Ok();
}

}  // namespace

Command SetupVerify(CLI::App& root) {
  auto o = std::make_shared<VerifyCmdOptions>();
  CLI::App* app = root.add_subcommand("verify", "Check every checksum of a deltafile, and optionally its base");
  app->add_option("file", o->file, "Deltafile")->required();
  app->add_option("--base", o->base, "Check that this image is the delta's base");
  app->add_option("--threads", o->threads, "Threads for reading the base (default: all cores)");
  app->add_flag("--json", o->json, "Print a JSON result");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
