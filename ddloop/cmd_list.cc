// cmd_list.cc - `ddloop list`: what ddloop has attached, and its health.
#include <cstdio>
#include <memory>

#include "ddloop/attachments.h"
#include "ddloop/command.h"
#include "ddloop/output.h"

namespace ddl::cli {

namespace {

struct ListOptions {
  bool json = false;
};

std::string Health(const Attachment& a) {
  if (a.ServerAlive() && a.FuseMounted()) return "ok";
  return "stale (server gone: ddloop detach " + a.id + ")";
}

Status Run(const ListOptions& o) {
  std::vector<Attachment> all = ListAttachments();
  if (o.json) {
    std::printf("[");
    for (size_t i = 0; i < all.size(); i++) {
      const Attachment& a = all[i];
      std::string deltas = "[";
      for (size_t k = 0; k < a.deltas.size(); k++) deltas += (k ? ", " : "") + Json::Quote(a.deltas[k]);
      deltas += "]";
      Json j;
      j.Str("id", a.id).Str("device", a.loop).Str("fs_mount", a.fs_mount).Str("base", a.base).Str("cow", a.cow)
          .Num("pid", static_cast<uint64_t>(a.pid)).Bool("ok", a.ServerAlive() && a.FuseMounted())
          .Str("created", IsoTime(a.created * 1000000000ull));
      std::string obj = j.Dump();
      obj.insert(obj.size() - 1, ", \"deltas\": " + deltas);
      std::printf("%s%s", i ? ", " : "", obj.c_str());
    }
    std::printf("]\n");
    return Status::Ok();
  }
  if (all.empty()) {
    std::printf("nothing attached\n");
    return Status::Ok();
  }
  std::printf("%-13s %-12s %-5s %-24s %s\n", "ID", "DEVICE", "MODE", "MOUNTED ON", "DELTAS");
  for (const Attachment& a : all) {
    std::string last = a.deltas.empty() ? "" : a.deltas.back();
    std::printf("%-13s %-12s %-5s %-24s %zu (last %s)  %s\n", a.id.c_str(), a.loop.empty() ? "-" : a.loop.c_str(),
                a.cow.empty() ? "ro" : "cow", a.fs_mount.empty() ? "-" : a.fs_mount.c_str(), a.deltas.size(),
                last.c_str(), Health(a).c_str());
  }
  return Status::Ok();
}

}  // namespace

Command SetupList(CLI::App& root) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* app = root.add_subcommand("list", "Show what ddloop has attached");
  app->add_flag("--json", o->json, "Print a JSON array");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
