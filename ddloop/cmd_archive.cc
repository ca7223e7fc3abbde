// cmd_archive.cc - `ddloop archive DELTA... -f TARGET`: write a deltafile
// chain as a pax tar archive (or a numbered set of them) to a file, a pipe
// or a tape, in fixed-size blocks (backup/archive_writer.h).
#include <cstdio>

#include "backup/archive_target.h"
#include "backup/archive_writer.h"
#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/output_target.h"
#include "ddloop/version.h"

namespace ddl::cli {

namespace {

struct ArchiveCmdOptions {
  std::vector<std::string> deltas;
  std::string target;
  std::string block_size = "10240";
  std::string media_size;
  bool append = false;
  bool json = false;
  bool quiet = false;
};

// Archive `k` of the plan to its file: appended (backup/archive_target.h),
// or through OutputTarget: a regular file is written beside it and renamed
// over it, a pipe, FIFO or tape is written in place, a terminal is rejected.
Status WriteOne(const ArchivePlan& plan, size_t k, bool append, const ArchiveWriteOptions& wo,
                ArchiveWriteReport* rep) {
  const std::string& path = plan.archives[k].this_archive;
  if (append && path != "-" && IsAppendableFile(path)) return AppendArchive(plan, k, path, wo, rep);
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<OutputTarget> t, OutputTarget::Open(path, "an archive"));
  return t->Write(Env::Posix(), [&](File* f) {
    uint64_t pos = 0;
    return WriteArchive(
        plan, k,
        [&](const void* p, size_t n) {
          Status s = f->WriteAt(pos, p, n);
          pos += n;
          return s;
        },
        wo, rep);
  });
}

Status Run(const ArchiveCmdOptions& o) {
  ArchiveWriteOptions wo;
  wo.tool = std::string("ddloop ") + kVersion;
  uint64_t v = 0;
  DDL_RETURN_IF_ERROR(SizeOption("--block-size", o.block_size, &v));
  if (v == 0) return InvalidArgument("--block-size " + o.block_size + ": must be more than 0");
  wo.block_size = static_cast<size_t>(v);
  if (!o.media_size.empty()) {
    DDL_RETURN_IF_ERROR(SizeOption("--media-size", o.media_size, &wo.media_size));
    if (wo.media_size == 0) return InvalidArgument("--media-size " + o.media_size + ": must be more than 0");
    if (o.target == "-") return InvalidArgument("--media-size needs -f FILE: the archives are FILE.001, FILE.002, ...");
    if (o.append) return InvalidArgument("--media-size and --append cannot be combined");
  }
  Progress progress(!o.quiet && !o.json);
  wo.progress = [&](const std::string& name, uint64_t d, uint64_t t) { progress.Update("archive " + name, d, t); };
  DDL_ASSIGN_OR_RETURN(ArchivePlan plan, PlanArchives(o.deltas, o.target, wo));

  std::vector<std::pair<std::string, ArchiveWriteReport>> written;
  for (size_t k = 0; k < plan.archives.size(); k++) {
    const std::string& path = plan.archives[k].this_archive;
    ArchiveWriteReport rep;
    Status s = WriteOne(plan, k, o.append, wo, &rep);
    if (!s.ok()) {
      progress.Finish();
      return s;
    }
    written.emplace_back(path, rep);
  }
  progress.Finish();
  // The report goes to stdout, unless the archive does.
  FILE* out = o.target == "-" ? stderr : stdout;
  if (o.json) {
    std::vector<Json> arcs;
    for (size_t k = 0; k < written.size(); k++) {
      const Catalog& c = plan.archives[k];
      Json j;
      j.Str("archive", written[k].first)
          .Num("number", c.number)
          .Num("count", c.count)
          .Str("set", c.set.ToString())
          .Num("deltafiles", c.members.size())
          .Num("bytes", written[k].second.bytes)
          .Num("blocks", written[k].second.blocks)
          .Num("block_size", wo.block_size);
      arcs.push_back(j);
    }
    Json j;
    j.Arr("archives", arcs).Num("deltafiles", o.deltas.size()).Num("deltafile_bytes", plan.total_bytes);
    std::fprintf(out, "%s\n", j.Dump().c_str());
  } else if (!o.quiet) {
    for (size_t k = 0; k < written.size(); k++) {
      const Catalog& c = plan.archives[k];
      std::fprintf(out, "%s: archive %u of %u, %zu deltafile%s, %s in %llu blocks of %zu bytes\n",
                   written[k].first == "-" ? "<stdout>" : written[k].first.c_str(), c.number, c.count, c.members.size(),
                   c.members.size() == 1 ? "" : "s", HumanBytes(written[k].second.bytes).c_str(),
                   (unsigned long long)written[k].second.blocks, wo.block_size);
    }
  }
  return Status::Ok();
}

}  // namespace

Command SetupArchive(CLI::App& root) {
  auto o = std::make_shared<ArchiveCmdOptions>();
  CLI::App* app = root.add_subcommand("archive", "Write a deltafile chain as a pax tar archive (file, pipe or tape)");
  app->add_option("deltas", o->deltas, "DELTA...")->required();
  app->add_option("-f,--file", o->target, "Archive to write: a file, '-' (standard output) or a tape device")
      ->required();
  app->add_option("--block-size", o->block_size,
                  "Bytes per write, a multiple of 512 up to 1M (default 10240, like tar)");
  app->add_option("--media-size", o->media_size,
                  "Split into archives FILE.001, FILE.002, ... of at most this size, at deltafile boundaries");
  app->add_flag("--append", o->append, "Add the archive at the end of FILE (tar concatenation)");
  app->add_flag("--json", o->json, "Print a JSON result");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
