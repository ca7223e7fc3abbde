// cmd_volume.cc - `ddloop volume create|import|info|check` and the
// `volume` command group (ddloop-volume(8); the other subcommands are in
// cmd_volume_delta.cc and cmd_volume_attach.cc).
#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "ddloop/output.h"
#include "ddloop/volume_commands.h"
#include "snapcore/volume_check.h"

namespace ddl::cli {

namespace {

struct VolumeCreateOptions {
  std::string vol;
  std::string image;  // import
  std::string size;
  std::string chunk_size = "4K";
  std::string uuid;
  bool quiet = false;
};

Status ParseCreate(const VolumeCreateOptions& o, vol::CreateOptions* c) {
  uint64_t chunk = 0;
  DDL_RETURN_IF_ERROR(SizeOption("--chunk-size", o.chunk_size, &chunk));
  if (chunk < 4096 || chunk > (1u << 20) || (chunk & (chunk - 1)))
    return InvalidArgument("--chunk-size " + o.chunk_size + ": must be a power of two from 4K to 1M");
  c->chunk_shift = static_cast<uint32_t>(__builtin_ctzll(chunk));
  if (!o.uuid.empty() && !Uuid::Parse(o.uuid, &c->volume))
    return InvalidArgument("--uuid: '" + o.uuid + "' is not a UUID");
  return Status::Ok();
}

Status PrintCreated(const VolumeCreateOptions& o) {
  if (o.quiet) return Status::Ok();
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(VolumeDir(o.vol)));
  std::printf("%s: volume %s, %s, %s chunks\n", o.vol.c_str(), st.volume.ToString().c_str(),
              HumanBytes(st.size).c_str(), HumanBytes(st.chunk_size()).c_str());
  return Status::Ok();
}

Status RunCreate(const VolumeCreateOptions& o) {
  vol::CreateOptions c;
  DDL_RETURN_IF_ERROR(ParseCreate(o, &c));
  DDL_RETURN_IF_ERROR(SizeOption("--size", o.size, &c.size));
  DDL_RETURN_IF_ERROR(vol::Volume::Create(Env::Posix(), o.vol, c));
  return PrintCreated(o);
}

Status RunImport(const VolumeCreateOptions& o) {
  vol::CreateOptions c;
  DDL_RETURN_IF_ERROR(ParseCreate(o, &c));
  Progress progress(!o.quiet);
  c.progress = [&](uint64_t done, uint64_t total) { progress.Update("import " + o.image, done, total); };
  Status s = vol::Volume::Import(Env::Posix(), o.vol, o.image, c);
  progress.Finish();
  DDL_RETURN_IF_ERROR(s);
  return PrintCreated(o);
}

// Bytes the directory's files take on disk (st_blocks: sparse files count what they hold).
uint64_t DiskUsage(const std::string& dir) {
  uint64_t n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      struct stat st;
      if (::lstat((dir + "/" + e->d_name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) n += uint64_t(st.st_blocks) * 512;
    }
    ::closedir(d);
  }
  return n;
}

struct VolumeInfoOptions {
  std::string vol;
  bool json = false;
};

Status RunInfo(const VolumeInfoOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_RETURN_IF_ERROR(ReadVolumeState(dir).status());
  vol::OpenOptions oo;
  oo.writable = false;
  oo.allow_pending_revert = true;
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<vol::Volume> v, vol::Volume::Open(Env::Posix(), dir, oo));
  const vol::VolumeState& st = v->state();
  const std::string holder = VolumeLockHolder(Env::Posix(), dir);
  std::string attached;
  for (const Attachment& a : VolumeAttachments(dir))
    attached += (attached.empty() ? "" : ", ") + a.loop + (a.snapshot.empty() ? "" : " (snapshot " + a.snapshot + ")");
  const uint64_t usage = DiskUsage(dir);
  if (o.json) {
    Json j;
    j.Str("volume", dir)
        .Str("uuid", st.volume.ToString())
        .Num("size", st.size)
        .Num("chunk_size", st.chunk_size())
        .Str("created", IsoTime(st.create_ns))
        .Num("snapshots", st.snaps.size())
        .Num("head_chunks", v->head_chunks())
        .Num("disk_usage", usage)
        .Obj("origin", IdentityJson(st.OriginIdentity()))
        .Bool("in_use", !holder.empty())
        .Str("in_use_by", holder)
        .Str("attached", attached)
        .Bool("revert_in_progress", st.revert_target != 0);
    std::printf("%s\n", j.Dump().c_str());
    return Status::Ok();
  }
  std::printf("volume:        %s\n", dir.c_str());
  std::printf("uuid:          %s\n", st.volume.ToString().c_str());
  std::printf("size:          %s (%llu bytes), %s chunks\n", HumanBytes(st.size).c_str(), (unsigned long long)st.size,
              HumanBytes(st.chunk_size()).c_str());
  std::printf("created:       %s\n", IsoTime(st.create_ns).c_str());
  std::printf("snapshots:     %zu%s%s\n", st.snaps.size(), st.snaps.empty() ? "" : ", newest ",
              st.snaps.empty() ? "" : st.snaps.back().name.c_str());
  std::printf("live head:     %llu chunks changed since the newest snapshot\n", (unsigned long long)v->head_chunks());
  std::printf("disk usage:    %s\n", HumanBytes(usage).c_str());
  std::printf("origin:        snapshot %s\n               fingerprint %s\n", st.origin_uuid.ToString().c_str(),
              st.origin_fp.Hex().c_str());
  std::printf("in use:        %s\n", holder.empty() ? "no" : holder.c_str());
  std::printf("attached:      %s\n", attached.empty() ? "no" : attached.c_str());
  if (st.revert_target != 0) std::printf("revert:        in progress (run ddloop volume revert to finish it)\n");
  return Status::Ok();
}

Status RunCheck(const VolumeInfoOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_RETURN_IF_ERROR(ReadVolumeState(dir).status());
  // Hold the lock: nobody may write while we read.
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<VolumeLock> lock, VolumeLock::Acquire(Env::Posix(), dir, "ddloop volume check"));
  vol::CheckReport r;
  Progress progress(!o.json);
  Status s = vol::CheckVolume(
      Env::Posix(), dir, [&](uint64_t d, uint64_t t) { progress.Update("check", d, t); }, &r);
  progress.Finish();
  if (o.json) {
    std::vector<Json> problems;
    for (const vol::CheckProblem& p : r.problems)
      problems.push_back(Json().Str("file", p.file).Str("message", p.message));
    std::vector<Json> notes;
    for (const std::string& n : r.notes) notes.push_back(Json().Str("note", n));
    Json j;
    j.Str("volume", dir)
        .Bool("ok", s.ok())
        .Num("snapshots", r.snapshots)
        .Num("index_entries", r.index_entries)
        .Num("chunks_read", r.chunks_read)
        .Arr("problems", problems)
        .Arr("notes", notes);
    std::printf("%s\n", j.Dump().c_str());
  } else {
    for (const vol::CheckProblem& p : r.problems) std::printf("%s: %s\n", p.file.c_str(), p.message.c_str());
    for (const std::string& n : r.notes) std::printf("note: %s\n", n.c_str());
    if (s.ok())
      std::printf("%s: ok (%llu snapshots, %llu index entries, %llu chunks read)\n", dir.c_str(),
                  (unsigned long long)r.snapshots, (unsigned long long)r.index_entries,
                  (unsigned long long)r.chunks_read);
  }
  return s;
}

Command AddCreate(CLI::App& volume, bool import) {
  auto o = std::make_shared<VolumeCreateOptions>();
  CLI::App* app = import ? volume.add_subcommand("import", "Make a volume whose origin is a copy of an image")
                         : volume.add_subcommand("create", "Make a new, all-zero volume");
  app->add_option("vol", o->vol, "Volume directory (created; must not exist or be empty)")->required();
  if (import) {
    app->add_option("img", o->image, "Image or block device to copy (zero chunks stay holes)")->required();
  } else {
    app->add_option("--size", o->size, "Volume size: 64M, 10G, ... (a multiple of 512)")->required();
    app->add_option("--uuid", o->uuid, "Volume UUID (default: random)");
  }
  app->add_option("--chunk-size", o->chunk_size, "Change-tracking unit, power of two 4K..1M (default 4K)");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  if (import) return {app, [o] { return RunImport(*o); }};
  return {app, [o] { return RunCreate(*o); }};
}

}  // namespace

Command SetupVolumeCreate(CLI::App& volume) { return AddCreate(volume, false); }
Command SetupVolumeImport(CLI::App& volume) { return AddCreate(volume, true); }

Command SetupVolumeInfo(CLI::App& volume) {
  auto o = std::make_shared<VolumeInfoOptions>();
  CLI::App* app = volume.add_subcommand("info", "Show a volume's size, snapshots, disk usage and attachment");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_flag("--json", o->json, "Print a JSON object");
  return {app, [o] { return RunInfo(*o); }};
}

Command SetupVolumeCheck(CLI::App& volume) {
  auto o = std::make_shared<VolumeInfoOptions>();
  CLI::App* app = volume.add_subcommand("check", "Check every structure of a detached volume; report all damage");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_flag("--json", o->json, "Print a JSON object");
  return {app, [o] { return RunCheck(*o); }};
}

Command SetupVolume(CLI::App& root) {
  CLI::App* app = root.add_subcommand("volume", "Live volumes with snapshots and O(changed) deltas");
  return CommandGroup(
      app, {SetupVolumeCreate(*app), SetupVolumeImport(*app), SetupVolumeInfo(*app), SetupVolumeCheck(*app),
            SetupVolumeDelta(*app), SetupVolumeRevert(*app), SetupVolumeAttach(*app), SetupVolumeServe(*app)});
}

}  // namespace ddl::cli
