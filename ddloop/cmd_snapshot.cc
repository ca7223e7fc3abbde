// cmd_snapshot.cc - `ddloop snapshot create|list|delete VOL` (ddloop-
// snapshot(8)). On an attached volume, create and delete are done by its
// attach server (asked on VOL/control); with a filesystem mounted by
// `volume attach --mount-fs`, create freezes it around the snapshot.
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "attach/fs_freeze.h"
#include "attach/teardown.h"
#include "ddloop/output.h"
#include "ddloop/volume_commands.h"

namespace ddl::cli {

namespace {

struct SnapshotOptions {
  std::string vol;
  std::vector<std::string> names;
  bool json = false;
  bool quiet = false;
};

// Asks the attach server, if one serves `dir`; *served says whether one did.
Result<std::string> AskServer(const std::string& dir, const std::string& request, bool* served) {
  DDL_ASSIGN_OR_RETURN(std::string reply, ControlRequest(dir, request, served));
  if (!*served) return reply;
  if (reply.compare(0, 3, "ok ") == 0) return reply.substr(3);
  char* end = nullptr;
  long code = reply.compare(0, 4, "err ") == 0 ? std::strtol(reply.c_str() + 4, &end, 10) : 0;
  if (code <= 0 || code > int(kLastCode) || end == nullptr || *end != ' ')
    return IOError(dir + "/control: unexpected reply '" + reply.substr(0, 80) + "'");
  return Status(Code(code), end + 1);
}

Status RunCreate(const SnapshotOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_RETURN_IF_ERROR(ReadVolumeState(dir).status());
  if (o.names.size() > 1) return InvalidArgument("give at most one snapshot name");
  const std::string name = o.names.empty() ? "" : o.names[0];
  if (name.find('\n') != std::string::npos) return InvalidArgument("a snapshot name cannot hold a newline");
  std::string fs;
  for (const Attachment& a : VolumeAttachments(dir))
    if (a.snapshot.empty() && attach::FsMounted(a)) fs = a.fs_mount;
  std::string json;
  bool served = false;
  {
    if (!fs.empty()) DDL_RETURN_IF_ERROR(attach::FreezeFs(fs, true));
    auto r = AskServer(dir, "create " + name, &served);
    Status thawed = fs.empty() ? Status::Ok() : attach::FreezeFs(fs, false);  // always thaw, even after an error
    DDL_RETURN_IF_ERROR(r.status());
    DDL_RETURN_IF_ERROR(thawed);
    json = *r;
  }
  if (!served) {
    DDL_ASSIGN_OR_RETURN(LockedVolume lv, OpenLocked(dir, "ddloop snapshot create", vol::OpenOptions()));
    DDL_ASSIGN_OR_RETURN(vol::SnapshotInfo s, lv.volume->CreateSnapshot(name));
    DDL_RETURN_IF_ERROR(lv.volume->Close());
    json = SnapshotJson(s).Dump();
  }
  if (o.json) {
    std::printf("%s\n", json.c_str());
  } else if (!o.quiet) {
    DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
    const vol::SnapshotInfo& s = st.snaps.back();
    std::printf("%s: snapshot %s (#%llu, %llu chunks changed)%s\n", o.vol.c_str(), s.name.c_str(),
                (unsigned long long)s.id, (unsigned long long)s.chunks, fs.empty() ? "" : ", filesystem frozen");
  }
  return Status::Ok();
}

Status RunDelete(const SnapshotOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
  if (o.names.empty()) return InvalidArgument("give the snapshots to delete");
  // Deleting merges segments a snapshot's reader has mapped: reject while one is attached.
  for (const Attachment& a : VolumeAttachments(dir))
    if (!a.snapshot.empty())
      return InvalidArgument(dir + ": snapshot " + a.snapshot + " is attached (" + a.loop +
                             "); detach it before deleting snapshots");
  for (const std::string& n : o.names)
    if (st.Find(n) < 0) return Status(Code::kNotFound, dir + ": no snapshot '" + n + "'");
  std::unique_ptr<LockedVolume> local;
  for (const std::string& n : o.names) {
    bool served = false;
    if (!local) DDL_RETURN_IF_ERROR(AskServer(dir, "delete " + n, &served).status());
    if (!served) {
      if (!local) {
        DDL_ASSIGN_OR_RETURN(LockedVolume lv, OpenLocked(dir, "ddloop snapshot delete", vol::OpenOptions()));
        local = std::make_unique<LockedVolume>(std::move(lv));
      }
      DDL_RETURN_IF_ERROR(local->volume->DeleteSnapshot(n));
    }
    if (!o.quiet) std::printf("%s: deleted snapshot %s\n", o.vol.c_str(), n.c_str());
  }
  if (local) DDL_RETURN_IF_ERROR(local->volume->Close());
  return Status::Ok();
}

Status RunList(const SnapshotOptions& o) {
  const std::string dir = VolumeDir(o.vol);
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, ReadVolumeState(dir));
  if (o.json) {
    std::vector<Json> all;
    for (const vol::SnapshotInfo& s : st.snaps)
      all.push_back(Json()
                        .Str("name", s.name)
                        .Num("id", s.id)
                        .Str("uuid", s.uuid.ToString())
                        .Str("fingerprint", s.fingerprint.Hex())
                        .Str("created", IsoTime(s.create_ns))
                        .Num("chunks", s.chunks));
    std::printf("%s\n", Json().Str("volume", dir).Arr("snapshots", all).Dump().c_str());
    return Status::Ok();
  }
  if (st.snaps.empty()) {
    std::printf("no snapshots\n");
    return Status::Ok();
  }
  std::printf("%-20s %6s %-36s %-16s %-20s %s\n", "NAME", "ID", "UUID", "FINGERPRINT", "CREATED", "CHUNKS");
  for (const vol::SnapshotInfo& s : st.snaps)
    std::printf("%-20s %6llu %-36s %-16s %-20s %llu\n", s.name.c_str(), (unsigned long long)s.id,
                s.uuid.ToString().c_str(), s.fingerprint.Hex().substr(0, 16).c_str(), IsoTime(s.create_ns).c_str(),
                (unsigned long long)s.chunks);
  return Status::Ok();
}

}  // namespace

Command SetupSnapshot(CLI::App& root) {
  CLI::App* group = root.add_subcommand("snapshot", "Create, list and delete snapshots of a volume");
  auto add = [group](const char* name, const char* what, Status (*run)(const SnapshotOptions&), const char* pos,
                     const char* names) {
    auto o = std::make_shared<SnapshotOptions>();
    CLI::App* app = group->add_subcommand(name, what);
    app->add_option("vol", o->vol, "Volume directory")->required();
    if (pos) app->add_option(pos, o->names, names);
    if (run != RunDelete)
      app->add_flag("--json", o->json, run == RunList ? "Print a JSON object" : "Print the new snapshot as JSON");
    if (run != RunList) app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
    return Command{app, [o, run] { return run(*o); }};
  };
  return CommandGroup(
      group, {add("create", "Seal the live volume as a snapshot (attached or not)", RunCreate, "name", "NAME"),
              add("list", "List a volume's snapshots, oldest first", RunList, nullptr, nullptr),
              add("delete", "Delete snapshots; the others keep their content", RunDelete, "names", "NAME...")});
}

}  // namespace ddl::cli
