// cmd_publish.cc - `ddloop publish VOL URL`: every snapshot of a volume the
// repository lacks goes up as a delta from the previous one, then HEAD
// moves (replica/publish.h).
#include <memory>

#include "attach/volume_open.h"
#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/remote.h"
#include "deltafile/hash.h"
#include "deltafile/hex.h"
#include "replica/publish.h"

namespace ddl::cli {

namespace {

struct PublishCmdOptions {
  std::string vol;
  std::string snapshot;
  std::string work_dir;
  std::string name;
  int level = 3;
  int threads = 0;
  RemoteOptions remote;
  TransferCmdOptions transfer;
};

std::string ParentOf(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "." : s == 0 ? "/" : p.substr(0, s);
}

// mkdir -p for the state directory the publish lock lives in.
Status MakeDirs(const std::string& dir) {
  Env* env = Env::Posix();
  if (dir.empty() || env->Exists(dir)) return Status::Ok();
  DDL_RETURN_IF_ERROR(MakeDirs(ParentOf(dir)));
  Status s = env->MakeDir(dir);
  return s.ok() || env->Exists(dir) ? Status::Ok() : s;
}

Json HeadJson(const RepoHead& h) {
  return Json()
      .Num("seq", h.seq)
      .Str("entry", h.entry)
      .Str("snapshot", h.target.snapshot.ToString())
      .Str("fingerprint", h.target.fingerprint.Hex())
      .Str("snapshot_name", h.snapshot_name);
}

Status RunPublish(PublishCmdOptions& o) {
  const std::string vol = attach::VolumeDir(o.vol);
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
  TransferRun run(o.transfer, o.remote, "publish " + RedactUrl(o.remote.url));
  replica::PublishOptions po;
  DDL_RETURN_IF_ERROR(run.Setup(&po.repo));
  po.upto = o.snapshot;
  po.work_dir = o.work_dir.empty() ? ParentOf(vol) : o.work_dir;
  po.repo_name = o.name;
  po.level = o.level;
  po.threads = o.threads > 0 ? o.threads : DefaultThreads();
  std::string state_dir = o.remote.state_dir;
  if (state_dir.empty()) {
    const char* x = std::getenv("XDG_STATE_HOME");
    const char* home = std::getenv("HOME");
    state_dir = x && *x         ? std::string(x) + "/ddloop"
                : home && *home ? std::string(home) + "/.local/state/ddloop"
                                : "/var/lib/ddloop/state";
  }
  DDL_RETURN_IF_ERROR(MakeDirs(state_dir));
  const std::string key = vol + "\n" + RedactUrl(o.remote.url);
  po.lock_path = state_dir + "/publish-" + Hex64(Xxh64(key.data(), key.size())) + ".lock";
  const bool quiet = o.transfer.quiet || o.transfer.json;
  po.note = [quiet](const std::string& m) {
    if (!quiet) std::fprintf(stderr, "ddloop publish: %s\n", m.c_str());
  };
  replica::PublishReport rep;
  Status s = replica::PublishVolume(vol, t.get(), po, &rep);
  run.FinishProgress();
  if (o.transfer.json) {
    std::vector<Json> ds;
    for (const replica::PublishedDelta& d : rep.deltas)
      ds.push_back(Json()
                       .Str("name", d.entry)
                       .Str("snapshot_name", d.snapshot_name)
                       .Str("snapshot", d.target.snapshot.ToString())
                       .Str("fingerprint", d.target.fingerprint.Hex())
                       .Bool("seed", d.seed)
                       .Num("size", d.size)
                       .Num("bytes_transferred", d.stats.bytes_transferred)
                       .Str("status", d.uploaded ? "transferred" : "skipped"));
    Json j;
    j.Str("volume", vol).Str("url", RedactUrl(o.remote.url)).Arr("deltas", ds);
    if (s.ok()) j.Obj("head", HeadJson(rep.head));
    if (!s.ok()) j.Str("error", s.message());
    std::printf("%s\n", j.Dump().c_str());
    return s;
  }
  if (!o.transfer.quiet) {
    for (const replica::PublishedDelta& d : rep.deltas)
      std::printf("%s %s (snapshot %s%s, %llu bytes)\n", d.uploaded ? "published" : "already there", d.entry.c_str(),
                  d.snapshot_name.c_str(), d.seed ? ", seed" : "", (unsigned long long)d.size);
    if (s.ok())
      std::printf("HEAD %llu: %s (%s)%s\n", (unsigned long long)rep.head.seq, rep.head.snapshot_name.c_str(),
                  rep.head.target.ToString().c_str(), rep.deltas.empty() ? ", up to date" : "");
  }
  return s;
}

}  // namespace

Command SetupPublish(CLI::App& root) {
  auto o = std::make_shared<PublishCmdOptions>();
  CLI::App* app = root.add_subcommand("publish", "Publish a volume's new snapshots to a repository, then move HEAD");
  app->add_option("vol", o->vol, "Volume directory")->required();
  app->add_option("url", o->remote.url, "Repository URL")->required();
  app->add_option("--snapshot", o->snapshot, "Publish up to this snapshot (default: the newest)");
  app->add_option("--work-dir", o->work_dir, "Where deltafiles are made before upload (default: beside VOL)");
  app->add_option("--name", o->name, "The repository's name when this publish creates it");
  app->add_option("-l,--level", o->level, "zstd level (default 3)")->check(CLI::Range(0, 19));
  app->add_option("--threads", o->threads, "Compression threads (default: the machine's cores)")
      ->check(CLI::Range(1, 256));
  AddRemoteOptions(app, &o->remote, true);
  AddTransferOptions(app, &o->transfer);
  return {app, [o] { return RunPublish(*o); }};
}

}  // namespace ddl::cli
