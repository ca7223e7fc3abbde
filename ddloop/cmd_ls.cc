// cmd_ls.cc - `ddloop ls URL`: the deltas of a repository in chain order.
#include <cstdio>
#include <memory>

#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/remote.h"

namespace ddl::cli {

namespace {

struct LsOptions {
  RemoteOptions remote;
  bool json = false;
};

Status Run(const LsOptions& o) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, OpenRemote(o.remote));
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
          .Num("size", e.size)
          .Str("checksum", e.checksum)
          .Str("volume_uuid", e.volume_uuid)
          .Num("volume_size", e.volume_size)
          .Str("kind", e.seed ? "seed" : "incremental");
      if (!e.seed) j.Obj("base", base);
      j.Obj("target", target).Str("created", IsoTime(e.created_ns)).Str("object", e.object);
      out += (i ? ",\n " : "") + j.Dump();
    }
    std::printf("%s]\n", out.c_str());
    return listing.skipped;
  }
  for (const CatalogEntry& e : all) {
    std::string base = e.seed ? "(seed)" : e.base_snapshot + "/" + e.base_fingerprint.substr(0, 16);
    std::printf("%-24s %10s  %s -> %s/%s\n", e.name.c_str(), HumanBytes(e.size).c_str(), base.c_str(),
                e.target_snapshot.c_str(), e.target_fingerprint.substr(0, 16).c_str());
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
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
