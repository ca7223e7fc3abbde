// cmd_volume_delta.cc - `ddloop volume delta` (a deltafile between two
// snapshots, from their indexes) and `ddloop volume revert`.
#include <cstdio>
#include <memory>

#include "ddloop/output.h"
#include "ddloop/output_target.h"
#include "ddloop/volume_commands.h"
#include "snapcore/volume_delta.h"

namespace ddl::cli {

namespace {

struct DeltaOptions {
  std::string vol;
  std::string from;
  std::string to;
  std::string out;
  int level = 3;
  int threads = DefaultThreads();
  bool json = false;
  bool quiet = false;
};

Status RunDelta(const DeltaOptions& o) {
  if (o.level < 0 || o.level > 19) return InvalidArgument("--level must be 0 (no compression) to 19");
  if (o.threads < 1 || o.threads > 256) return InvalidArgument("--threads must be 1 to 256");
  const std::string dir = VolumeDir(o.vol);
  DDL_RETURN_IF_ERROR(ReadVolumeState(dir).status());
  // Before any work: a terminal is rejected, a FIFO waits for its reader.
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<OutputTarget> target, OutputTarget::Open(o.out, "a deltafile"));
  vol::VolumeDeltaOptions d;
  d.from = o.from;
  d.to = o.to;
  d.level = o.level;
  d.threads = o.threads;
  Progress progress(!o.quiet && !o.json);
  d.progress = [&](uint64_t done, uint64_t total) { progress.Update("delta " + target->name(), done, total); };

  vol::VolumeDeltaResult r;
  // A regular file is written beside OUT and renamed into place; a stream
  // (stdout, a FIFO, a device) front to back.
  Status s =
      target->Write(Env::Posix(), [&](File* out) { return vol::WriteVolumeDelta(Env::Posix(), dir, d, out, &r); });
  progress.Finish();
  DDL_RETURN_IF_ERROR(s);
  FILE* info = target->to_stdout() ? stderr : stdout;  // the summary, unless the delta goes there
  const bool seed = o.from.empty();
  if (o.json) {
    Json j;
    j.Str("file", target->name())
        .Bool("seed", seed)
        .Str("from", seed ? "" : o.from)
        .Str("to", o.to)
        .Num("snapshots_merged", r.snapshots_merged)
        .Num("volume_size", r.volume_size)
        .Num("changed_chunks", r.stats.changed_chunks)
        .Num("data_bytes", r.stats.data_bytes)
        .Num("zero_bytes", r.stats.zero_bytes)
        .Num("file_size", r.stats.file_size)
        .Obj("base", IdentityJson(r.base))
        .Obj("target", IdentityJson(r.target));
    std::fprintf(info, "%s\n", j.Dump().c_str());
  } else if (!o.quiet) {
    std::fprintf(info, "%s: %s delta %s%s, %llu chunks changed (%s data, %s zeroed), %s written\n",
                 target->name().c_str(), seed ? "seed" : "incremental", seed ? "" : (o.from + " -> ").c_str(),
                 o.to.c_str(), (unsigned long long)r.stats.changed_chunks, HumanBytes(r.stats.data_bytes).c_str(),
                 HumanBytes(r.stats.zero_bytes).c_str(), HumanBytes(r.stats.file_size).c_str());
  }
  return Status::Ok();
}

struct RevertOptions {
  std::string vol;
  std::string snapshot;
  bool quiet = false;
};

Status RunRevert(const RevertOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  vol::OpenOptions oo;
  oo.allow_pending_revert = true;
  oo.note = [&](const std::string& n) {
    if (!o.quiet) std::fprintf(stderr, "ddloop volume revert: %s\n", n.c_str());
  };
  DDL_ASSIGN_OR_RETURN(LockedVolume lv, OpenLocked(dir, "ddloop volume revert", oo));
  Progress progress(!o.quiet);
  Status s = lv.volume->Revert(o.snapshot, [&](uint64_t d, uint64_t t) { progress.Update("revert", d, t); });
  progress.Finish();
  if (s.ok()) s = lv.volume->Close();
  DDL_RETURN_IF_ERROR(s);
  if (!o.quiet) std::printf("%s: the live volume is now snapshot %s\n", o.vol.c_str(), o.snapshot.c_str());
  return Status::Ok();
}

}  // namespace

Command SetupVolumeDelta(CLI::App& volume) {
  auto o = std::make_shared<DeltaOptions>();
  CLI::App* app = volume.add_subcommand("delta", "Write a deltafile between two snapshots (time ~ chunks changed)");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_option("--from", o->from, "Base snapshot (name, #id, UUID) or 'origin'; omit for a seed delta");
  app->add_option("--to", o->to, "Target snapshot (name, #id or UUID)")->required();
  app->add_option("-o,--output", o->out,
                  "Deltafile to write: a file (replaced atomically), '-' (stdout), a FIFO or a device (streamed)")
      ->required();
  app->add_option("--level", o->level, "zstd level 1..19, 0 stores records uncompressed (default 3)");
  app->add_option("--threads", o->threads, "Compression threads (default: all cores)");
  app->add_flag("--json", o->json, "Print a JSON summary");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return RunDelta(*o); }};
}

Command SetupVolumeRevert(CLI::App& volume) {
  auto o = std::make_shared<RevertOptions>();
  CLI::App* app = volume.add_subcommand("revert", "Make the live volume equal to a snapshot (detached volume)");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_option("snapshot", o->snapshot, "Snapshot (name, #id or UUID)")->required();
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return RunRevert(*o); }};
}

}  // namespace ddl::cli
