// cmd_create.cc - `ddloop create [--base OLD] NEW -o OUT`: diff two images
// (files or block devices) into a deltafile; without --base, a seed delta.
#include <cstdio>
#include <memory>

#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/output_target.h"
#include "deltafile/image_fingerprint.h"
#include "snapcore/image_diff.h"

namespace ddl::cli {

namespace {

struct CreateOptions {
  std::string base;
  std::string image;
  std::string out;
  std::string chunk_size = "4K";
  int level = 3;
  int threads = DefaultThreads();
  std::string volume_uuid;
  std::string base_snapshot;
  std::string target_snapshot;
  bool json = false;
  bool quiet = false;
};

Status ParseUuidOpt(const std::string& s, const char* what, Uuid* u) {
  if (s.empty()) return Status::Ok();
  if (!Uuid::Parse(s, u)) return InvalidArgument(std::string(what) + ": '" + s + "' is not a UUID");
  return Status::Ok();
}

// For a stream the header, which carries both identities, goes out first:
// they are computed by reading the images once before the records are made
// (the writer checks that the second reading agrees).
Status IdentitiesFirst(File* old_img, File* new_img, const CreateOptions& o, ImageDiffOptions* d, Progress* progress) {
  DDL_ASSIGN_OR_RETURN(uint64_t size, new_img->Size());
  if (old_img != nullptr) {
    DDL_ASSIGN_OR_RETURN(uint64_t osize, old_img->Size());
    if (osize != size) return Status::Ok();  // CreateDeltaFromImages says why, before writing
  }
  if (size == 0 || size % 512 != 0) return Status::Ok();
  ScanOptions so;
  so.threads = o.threads;
  WriterOptions& w = d->writer;
  auto fingerprint = [&](File* f) {
    so.progress = [&](uint64_t done, uint64_t total) { progress->Update("fingerprint " + f->name(), done, total); };
    return ImageFingerprint(f, w.chunk_shift, size, so);
  };
  if (old_img != nullptr) {
    DDL_ASSIGN_OR_RETURN(w.base.fingerprint, fingerprint(old_img));
    w.base.snapshot = d->base_snapshot.IsNil() ? Uuid::ForContent(w.volume_uuid, w.base.fingerprint) : d->base_snapshot;
  }
  DDL_ASSIGN_OR_RETURN(w.target.fingerprint, fingerprint(new_img));
  w.target.snapshot =
      d->target_snapshot.IsNil() ? Uuid::ForContent(w.volume_uuid, w.target.fingerprint) : d->target_snapshot;
  w.header_first = true;
  return Status::Ok();
}

Status Run(const CreateOptions& o) {
  uint64_t chunk = 0;
  DDL_RETURN_IF_ERROR(SizeOption("--chunk-size", o.chunk_size, &chunk));
  if (chunk < 4096 || chunk > (1u << 20) || (chunk & (chunk - 1)))
    return InvalidArgument("--chunk-size " + o.chunk_size + ": must be a power of two from 4K to 1M");
  if (o.level < 0 || o.level > 19) return InvalidArgument("--level must be 0 (no compression) to 19");
  if (o.base.empty() && !o.base_snapshot.empty())
    return InvalidArgument("--base-snapshot needs --base: a seed delta has no base");
  if (o.threads < 1 || o.threads > 256) return InvalidArgument("--threads must be 1 to 256");
  ImageDiffOptions d;
  d.writer.chunk_shift = static_cast<uint32_t>(__builtin_ctzll(chunk));
  d.writer.level = o.level;
  d.writer.threads = o.threads;
  DDL_RETURN_IF_ERROR(ParseUuidOpt(o.volume_uuid, "--volume-uuid", &d.writer.volume_uuid));
  DDL_RETURN_IF_ERROR(ParseUuidOpt(o.base_snapshot, "--base-snapshot", &d.base_snapshot));
  DDL_RETURN_IF_ERROR(ParseUuidOpt(o.target_snapshot, "--target-snapshot", &d.target_snapshot));

  // Before any work: a terminal is rejected, a FIFO waits for its reader.
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<OutputTarget> target, OutputTarget::Open(o.out, "a deltafile"));
  Env* env = Env::Posix();
  std::unique_ptr<File> old_img;
  if (!o.base.empty()) {
    DDL_ASSIGN_OR_RETURN(old_img, env->Open(o.base, OpenMode::kRead));
  }
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> new_img, env->Open(o.image, OpenMode::kRead));

  Progress progress(!o.quiet && !o.json);
  d.progress = [&](uint64_t done, uint64_t total) { progress.Update("create " + target->name(), done, total); };
  ImageDiffResult r;
  // A regular file is written beside OUT and renamed into place: OUT is never
  // half-written. A stream is written front to back.
  Status s = target->stream() ? IdentitiesFirst(old_img.get(), new_img.get(), o, &d, &progress) : Status::Ok();
  if (s.ok())
    s = target->Write(env, [&](File* out) { return CreateDeltaFromImages(old_img.get(), new_img.get(), out, d, &r); });
  progress.Finish();
  DDL_RETURN_IF_ERROR(s);
  // The summary goes to stdout, unless the delta does.
  FILE* info = target->to_stdout() ? stderr : stdout;

  const double ratio = r.stats.payload_bytes ? double(r.stats.data_bytes) / double(r.stats.payload_bytes) : 0;
  if (o.json) {
    Json j;
    j.Str("file", target->name())
        .Bool("seed", old_img == nullptr)
        .Num("volume_size", r.volume_size)
        .Num("chunk_size", chunk)
        .Num("changed_chunks", r.stats.changed_chunks)
        .Num("records", r.stats.records)
        .Num("data_bytes", r.stats.data_bytes)
        .Num("zero_bytes", r.stats.zero_bytes)
        .Num("payload_bytes", r.stats.payload_bytes)
        .Num("file_size", r.stats.file_size)
        .Real("compression_ratio", ratio)
        .Obj("base", IdentityJson(r.base))
        .Obj("target", IdentityJson(r.target));
    std::fprintf(info, "%s\n", j.Dump().c_str());
  } else if (!o.quiet) {
    std::fprintf(info, "%s: %s delta, %llu of %llu chunks changed (%s data, %s zeroed), %s written\n",
                 target->name().c_str(), old_img ? "incremental" : "seed", (unsigned long long)r.stats.changed_chunks,
                 (unsigned long long)((r.volume_size + chunk - 1) / chunk), HumanBytes(r.stats.data_bytes).c_str(),
                 HumanBytes(r.stats.zero_bytes).c_str(), HumanBytes(r.stats.file_size).c_str());
  }
  return Status::Ok();
}

}  // namespace

Command SetupCreate(CLI::App& root) {
  auto o = std::make_shared<CreateOptions>();
  CLI::App* app = root.add_subcommand("create", "Make a deltafile from two images, or a seed from one");
  app->add_option("--base", o->base, "Old image or block device (omit for a seed delta)");
  app->add_option("image", o->image, "New image or block device")->required();
  app->add_option("-o,--output", o->out,
                  "Deltafile to write: a file (replaced atomically), '-' (stdout), a FIFO or a device (streamed)")
      ->required();
  app->add_option("--chunk-size", o->chunk_size, "Change-tracking unit, power of two 4K..1M (default 4K)");
  app->add_option("--level", o->level, "zstd level 1..19, 0 stores records uncompressed (default 3)");
  app->add_option("--threads", o->threads, "Worker threads (default: all cores)");
  app->add_option("--volume-uuid", o->volume_uuid, "Volume lineage UUID (default: unbound, all zero)");
  app->add_option("--base-snapshot", o->base_snapshot, "Snapshot UUID of the base (default: from content)");
  app->add_option("--target-snapshot", o->target_snapshot, "Snapshot UUID of the target (default: from content)");
  app->add_flag("--json", o->json, "Print a JSON summary");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
