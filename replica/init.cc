#include "replica/init.h"

#include <unistd.h>

#include "attach/run_program.h"
#include "attach/volume_open.h"
#include "backup/archive_reader.h"
#include "backup/archive_source.h"
#include "backup/repository_head.h"
#include "deltafile/chain_order.h"
#include "deltafile/reader.h"
#include "replica/replica_dir.h"
#include "snapcore/volume_apply.h"

namespace ddl::replica {

namespace {

std::string BaseName(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string DirName(const std::string& p) {
  size_t s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

// The snapshot name a seeded delta gets: the file's name without ".ddl"
// and without the "-UUID8" that publish appends.
std::string NameFromFile(const std::string& file, const Uuid& target) {
  std::string n = BaseName(file);
  if (n.size() > 4 && n.compare(n.size() - 4, 4, ".ddl") == 0) n.resize(n.size() - 4);
  const std::string tail = "-" + target.ToString().substr(0, 8);
  if (n.size() > tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0)
    n.resize(n.size() - tail.size());
  return n.empty() || n[0] == '#' ? "seed" : n;
}

struct SeedFile {
  std::string path;
  Header h;
};

Result<SeedFile> ReadSeedHeader(Env* env, const std::string& path) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
  return SeedFile{path, rr->header()};
}

// The deltafiles an archive holds, extracted (each verified) into `dir`, in
// chain order.
Result<std::vector<SeedFile>> ExtractArchive(Env* env, const std::string& src, const std::string& dir) {
  DDL_RETURN_IF_ERROR(env->MakeDir(dir));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<ArchiveSource> in, ArchiveSource::Open(env, src));
  RestoreOptions ro;
  ro.extract_dir = dir;
  RestoreReport rep;
  DDL_RETURN_IF_ERROR(RestoreArchives({in->stream()}, ro, &rep));
  DDL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<SeedFile> files;
  std::vector<Header> hs;
  std::vector<std::string> paths;
  for (const std::string& n : names) {
    if (n.empty() || n[0] == '.') continue;
    DDL_ASSIGN_OR_RETURN(SeedFile sf, ReadSeedHeader(env, dir + "/" + n));
    files.push_back(sf);
    hs.push_back(sf.h);
    paths.push_back(src + ": " + n);
  }
  if (files.empty()) return InvalidArgument(src + ": the archive holds no deltafile");
  DDL_ASSIGN_OR_RETURN(ChainOrder order, OrderChain(hs, paths));
  std::vector<SeedFile> out;
  for (size_t i : order.order) out.push_back(files[i]);
  return out;
}

}  // namespace

Status InitReplica(const std::string& r_in, const InitOptions& o, InitReport* rep) {
  Env* env = Env::Posix();
  *rep = InitReport();
  auto note = [&](const std::string& m) {
    if (o.note) o.note(m);
  };
  std::string r = r_in;
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  if (env->Exists(r)) return Status(Code::kExists, r + ": exists (replica init makes a new directory)");
  if (!o.seed.empty() && !o.seed_archive.empty()) return InvalidArgument("give --seed or --seed-archive, not both");
  ReplicaConfig cfg;
  cfg.upstream = o.upstream;
  cfg.forwards = o.forwards;
  cfg.created_ns = vol::Entropy().NowNs();
  cfg.id = o.id;
  if (cfg.id.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "replica");
    cfg.id = host;
    for (char& c : cfg.id)
      if (!(std::isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')) c = '-';
  }
  DDL_RETURN_IF_ERROR(CheckReplicaId(cfg.id));
  for (const std::string& f : o.forwards)
    if (f == o.upstream) return InvalidArgument(f + ": a replica cannot forward to its own upstream");

  // The upstream: required without a seed, checked when reachable with one.
  Result<std::unique_ptr<Transport>> up = o.open(o.upstream);
  if (!up.ok()) return up.status();  // a malformed URL is always an error
  Result<RepoManifest> m = ReadManifest(up->get());
  const bool seeded = !o.seed.empty() || !o.seed_archive.empty();
  if (!m.ok() && (!seeded || m.status().code() != Code::kRemote)) return m.status();
  if (!m.ok()) note(m.status().message() + "; continuing from the seed, the first sync will check the repository");

  const std::string tmp = DirName(r) + "/." + BaseName(r) + ".init-" + RandomHex();
  DDL_RETURN_IF_ERROR(env->MakeDir(tmp));
  auto cleanup = [&](const Status& s) {
    (void)attach::RunProgram({"rm", "-rf", "--one-file-system", tmp});
    return s;
  };

  std::vector<SeedFile> seeds;
  if (!o.seed.empty()) {
    Result<SeedFile> sf = ReadSeedHeader(env, o.seed);
    if (!sf.ok()) return cleanup(sf.status());
    seeds.push_back(*sf);
  } else if (!o.seed_archive.empty()) {
    Result<std::vector<SeedFile>> all = ExtractArchive(env, o.seed_archive, tmp + "/seed");
    if (!all.ok()) return cleanup(all.status());
    seeds = *all;
  }
  if (!seeds.empty()) {
    const Header& h = seeds[0].h;
    if (!h.seed())
      return cleanup(InvalidArgument(seeds[0].path + ": not a seed delta (the chain must start with one; "
                                                     "make it with ddloop create --seed or publish)"));
    cfg.volume = h.volume_uuid;
  } else if (!m->volume.IsNil()) {
    cfg.volume = m->volume;
  } else {
    Result<RepoHead> head = ReadHead(up->get());
    if (!head.ok()) return cleanup(head.status());
    Result<Listing> l = ListDeltas(up->get());
    if (!l.ok()) return cleanup(l.status());
    for (const CatalogEntry& e : l->entries)
      if (e.name == head->entry) (void)Uuid::Parse(e.volume_uuid, &cfg.volume);
    if (cfg.volume.IsNil()) return cleanup(Corruption(up->get()->Describe("HEAD") + ": names no delta of the catalog"));
  }
  if (m.ok()) {
    rep->upstream_checked = true;
    if (!m->volume.IsNil() && m->volume != cfg.volume)
      return cleanup(Status(Code::kForeign, up->get()->Describe("") + ": a repository of volume " +
                                                m->volume.ToString() + ", but the seed is of volume " +
                                                cfg.volume.ToString()));
  }
  rep->volume = cfg.volume;

  if (!seeds.empty()) {
    Status s = CreateReplicaVolume(env, tmp, seeds[0].h);  // cfg.volume is the seed's
    if (!s.ok()) return cleanup(s);
    vol::OpenOptions vo;
    Result<std::unique_ptr<vol::Volume>> v = vol::Volume::Open(env, VolumePath(tmp), vo);
    if (!v.ok()) return cleanup(v.status());
    Identity cur;
    for (const SeedFile& sf : seeds) {
      vol::VolumeApplyOptions ao;
      ao.name = NameFromFile(sf.path, sf.h.target.snapshot);
      if ((*v)->state().Find(ao.name) >= 0) ao.name += "-" + sf.h.target.snapshot.ToString().substr(0, 8);
      ao.create_ns = sf.h.create_time_ns;
      vol::VolumeApplyResult ar;
      s = vol::ApplyDeltaToVolume(env, v->get(), sf.path, cur, ao, &ar);
      if (!s.ok()) return cleanup(s);
      cur = ar.snapshot.identity();
      rep->seeded.push_back(SyncedSnapshot{ar.snapshot.name, cur, BaseName(sf.path)});
    }
    s = (*v)->Close();
    if (!s.ok()) return cleanup(s);
    (void)attach::RunProgram({"rm", "-rf", "--one-file-system", tmp + "/seed"});
  }
  Status s = SaveConfig(env, tmp, cfg);
  if (s.ok()) s = env->SyncDirOf(tmp + "/config");
  if (s.ok() && env->Exists(r)) s = Status(Code::kExists, r + ": appeared while the replica was being made");
  if (s.ok()) s = env->Rename(tmp, r);
  if (!s.ok()) return cleanup(s);
  return env->SyncDirOf(r);
}

}  // namespace ddl::replica
