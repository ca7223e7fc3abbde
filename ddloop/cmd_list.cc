// cmd_list.cc - `ddloop list`: what ddloop has attached, and its health.
#include <cstdio>
#include <memory>

#include "attach/kernel_device.h"
#include "attach/registry.h"
#include "attach/teardown.h"
#include "ddloop/command.h"
#include "ddloop/output.h"

namespace ddl::cli {

namespace {

struct ListOptions {
  bool json = false;
};

std::string Health(const attach::Attachment& a) {
  if (attach::Healthy(a)) return "ok";
  if (a.kernel()) return "stale (device gone: ddloop detach " + a.id + ")";
  return "stale (server gone: ddloop detach " + a.id + ")";
}

Status Run(const ListOptions& o) {
  std::vector<attach::Attachment> all = attach::ListAttachments();
  if (o.json) {
    std::printf("[");
    for (size_t i = 0; i < all.size(); i++) {
      const attach::Attachment& a = all[i];
      std::string deltas = "[";
      for (size_t k = 0; k < a.deltas.size(); k++) deltas += (k ? ", " : "") + Json::Quote(a.deltas[k]);
      deltas += "]";
      Json j;
      j.Str("id", a.id)
          .Str("device", a.loop)
          .Str("fs_mount", a.fs_mount)
          .Str("base", a.base)
          .Str("cow", a.cow)
          .Str("kind", a.kind)
          .Num("pid", static_cast<uint64_t>(a.pid))
          .Bool("ok", attach::Healthy(a))
          .Str("created", IsoTime(a.created * 1000000000ull))
          .Str("volume", a.volume)
          .Str("snapshot", a.snapshot)
          .Str("owner", a.owner);
      std::string obj = j.Dump();
      obj.insert(obj.size() - 1, ", \"deltas\": " + deltas);
      std::printf("%s%s", i ? ", " : "", obj.c_str());
    }
    std::printf("]\n");
    return Status::Ok();
  }
  std::vector<attach::KernelDeviceInfo> orphans;  // kernel devices with no record here
  for (const attach::KernelDeviceInfo& k : attach::KernelDevices()) {
    bool known = false;
    for (const attach::Attachment& a : all) known |= a.loop == k.dev;
    if (!known) orphans.push_back(k);
  }
  if (all.empty() && orphans.empty()) {
    std::printf("nothing attached\n");
    return Status::Ok();
  }
  std::printf("%-13s %-12s %-6s %-24s %s\n", "ID", "DEVICE", "MODE", "MOUNTED ON", "DELTAS");
  for (const attach::Attachment& a : all) {
    if (!a.volume.empty()) {  // `ddloop volume attach`: the volume (and snapshot) instead of deltas
      std::printf("%-13s %-12s %-6s %-24s volume %s%s%s  %s\n", a.id.c_str(), a.loop.empty() ? "-" : a.loop.c_str(),
                  a.snapshot.empty() ? "rw" : "ro", a.fs_mount.empty() ? "-" : a.fs_mount.c_str(), a.volume.c_str(),
                  a.snapshot.empty() ? "" : " snapshot ", a.snapshot.c_str(), Health(a).c_str());
      continue;
    }
    std::string last = a.deltas.empty() ? "" : a.deltas.back();
    std::printf("%-13s %-12s %-6s %-24s %zu (last %s)  %s\n", a.id.c_str(), a.loop.empty() ? "-" : a.loop.c_str(),
                a.kernel()      ? "kernel"
                : a.cow.empty() ? "ro"
                                : "cow",
                a.fs_mount.empty() ? "-" : a.fs_mount.c_str(), a.deltas.size(), last.c_str(), Health(a).c_str());
  }
  for (const attach::KernelDeviceInfo& k : orphans)
    std::printf("%-13s %-12s %-6s %-24s %u (attached elsewhere)  %s\n", "-", k.dev.c_str(), "kernel", "-", k.ndeltas,
                k.io_errors ? (std::to_string(k.io_errors) + " I/O errors").c_str() : "ok");
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
