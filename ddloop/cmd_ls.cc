// cmd_ls.cc - `ddloop ls URL`: the deltas of a repository in chain order;
// `ddloop ls URL --replicas`: where its replicas say they are.
#include <chrono>
#include <cstdio>
#include <memory>

#include "backup/repository_head.h"
#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/remote.h"

namespace ddl::cli {

namespace {

struct LsOptions {
  RemoteOptions remote;
  bool json = false;
  bool replicas = false;
};

// "45s", "12m", "5h", "3d": how long ago `ns` was.
std::string AgeText(uint64_t ns, uint64_t now) {
  const uint64_t s = now > ns ? (now - ns) / 1000000000ull : 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 7200) return std::to_string(s / 60) + "m";
  if (s < 2 * 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

Status RunReplicas(Transport* t, const LsOptions& o) {
  DDL_ASSIGN_OR_RETURN(Listing listing, ListDeltas(t));
  Status skipped;
  DDL_ASSIGN_OR_RETURN(std::vector<ReplicaPosition> all, ListReplicaPositions(t, &skipped));
  Result<RepoHead> head = ReadHead(t);
  if (!head.ok() && head.status().code() != Code::kNotFound) return head.status();
  const uint64_t now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  std::string out = "[";
  for (size_t i = 0; i < all.size(); i++) {
    const ReplicaPosition& p = all[i];
    const int behind = head.ok() ? DeltasBehind(listing.entries, p.at, head->target) : -1;
    if (o.json) {
      Json j;
      j.Str("id", p.id).Obj("at", IdentityJson(p.at)).Str("snapshot_name", p.snapshot_name);
      if (behind >= 0) j.Num("behind", static_cast<uint64_t>(behind));
      j.Str("updated", IsoTime(p.updated_ns))
          .Num("age_seconds", now > p.updated_ns ? (now - p.updated_ns) / 1000000000ull : 0);
      if (p.expires_ns) j.Str("expires", IsoTime(p.expires_ns));
      out += (i ? ",\n " : "") + j.Dump();
      continue;
    }
    const std::string where = behind < 0 ? "?" : behind == 0 ? "at HEAD" : std::to_string(behind) + " behind";
    std::printf("%-24s %-16s %-12s %6s ago  %s\n", p.id.c_str(),
                p.snapshot_name.empty() ? "-" : p.snapshot_name.c_str(), where.c_str(),
                AgeText(p.updated_ns, now).c_str(), p.at.ToString().c_str());
  }
  if (o.json) std::printf("%s]\n", out.c_str());
  DDL_RETURN_IF_ERROR(skipped);
  return listing.skipped;
}

Status Run(const LsOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
  if (o.replicas) return RunReplicas(t.get(), o);
  DDL_ASSIGN_OR_RETURN(Listing listing, ListDeltas(t.get()));
  const std::vector<CatalogEntry>& all = listing.entries;
  if (o.json) {
    std::string out = "[";
    for (size_t i = 0; i < all.size(); i++) {
      const CatalogEntry& e = all[i];
      Json base, target, j;
      base.Str("snapshot", e.base_snapshot).Str("fingerprint", e.base_fingerprint);
      target.Str("snapshot", e.target_snapshot).Str("fingerprint", e.target_fingerprint);
      j.Str("name", e.name)
          .Str("snapshot_name", e.target_name)
          .Num("size", e.size)
          .Str("checksum", e.checksum)
          .Str("volume_uuid", e.volume_uuid)
          .Num("volume_size", e.volume_size)
          .Str("kind", e.seed ? "seed" : "incremental");
      if (!e.seed) j.Obj("base", base);
      j.Obj("target", target).Str("created", IsoTime(e.created_ns)).Str("object", e.object);
      if (e.target_created_ns) j.Str("snapshot_created", IsoTime(e.target_created_ns));
      out += (i ? ",\n " : "") + j.Dump();
    }
    std::printf("%s]\n", out.c_str());
    return listing.skipped;
  }
  for (const CatalogEntry& e : all) {
    std::string base = e.seed ? "(seed)" : e.base_snapshot + "/" + e.base_fingerprint.substr(0, 16);
    std::printf("%-24s %10s  %-16s %s -> %s/%s\n", e.name.c_str(), HumanBytes(e.size).c_str(),
                e.target_name.empty() ? "-" : e.target_name.c_str(), base.c_str(), e.target_snapshot.c_str(),
                e.target_fingerprint.substr(0, 16).c_str());
  }
  return listing.skipped;
}

}  // namespace

Command SetupLs(CLI::App& root) {
  auto o = std::make_shared<LsOptions>();
  CLI::App* app = root.add_subcommand("ls", "List the deltas in a repository, in chain order");
  app->add_option("url", o->remote.url, "Repository URL")->required();
  AddRemoteOptions(app, &o->remote, false);
  app->add_flag("--json", o->json, "Print a JSON array");
  app->add_flag("--replicas", o->replicas, "List the replicas' positions instead of the deltas");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
