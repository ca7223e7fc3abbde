#include "replica/status.h"

#include "attach/volume_open.h"
#include "replica/chain_plan.h"
#include "snapcore/volume_manifest.h"

namespace ddl::replica {

Status ReadReplicaStatus(const std::string& r, const OpenTransportFn& open, ReplicaStatus* out) {
  Env* env = Env::Posix();
  *out = ReplicaStatus();
  DDL_ASSIGN_OR_RETURN(out->config, LoadConfig(env, r));
  out->state = LoadState(env, r, nullptr);
  if (env->Exists(vol::ManifestPath(VolumePath(r)))) {
    DDL_ASSIGN_OR_RETURN(vol::VolumeState st, attach::ReadVolumeState(VolumePath(r)));
    out->snapshots = st.snaps;
  }
  {
    Result<std::unique_ptr<LockedFile>> probe = env->LockFile(LockPath(r), true);
    out->busy = !probe.ok() && probe.status().code() == Code::kBusy;
  }
  if (!open) return Status::Ok();
  out->upstream_asked = true;
  auto ask = [&]() -> Status {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<Transport> t, open(out->config.upstream));
    DDL_ASSIGN_OR_RETURN(out->head, ReadHead(t.get()));
    std::vector<Identity> held;
    for (const vol::SnapshotInfo& s : out->snapshots) held.push_back(s.identity());
    if (!held.empty() && held.back().fingerprint == out->head.target.fingerprint) {
      out->lag = 0;
      return Status::Ok();
    }
    DDL_ASSIGN_OR_RETURN(Listing l, ListDeltas(t.get()));
    Result<SyncPlan> p = PlanSync(l.entries, out->head.target, out->head.entry, held, t->Describe(""));
    if (p.ok()) out->lag = p->up_to_date ? 0 : int(p->path.size());
    return Status::Ok();
  };
  out->upstream = ask();
  return Status::Ok();
}

Status RevertReplica(const std::string& r, const std::string& snap, std::vector<std::string>* deleted) {
  Env* env = Env::Posix();
  deleted->clear();
  DDL_ASSIGN_OR_RETURN(ReplicaConfig cfg, LoadConfig(env, r));
  (void)cfg;
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaLock> lock, ReplicaLock::Acquire(env, r));
  {  // refused without opening the volume for writing (which journals the open)
    DDL_ASSIGN_OR_RETURN(vol::VolumeState st, attach::ReadVolumeState(VolumePath(r)));
    if (st.Find(snap) < 0)
      return Status(Code::kNotFound, r + ": holds no snapshot '" + snap + "' (ddloop replica list)");
  }
  vol::OpenOptions vo;
  vo.allow_pending_revert = true;
  DDL_ASSIGN_OR_RETURN(attach::LockedVolume lv, attach::OpenLocked(VolumePath(r), "replica revert", vo));
  int i = lv.volume->state().Find(snap);
  if (i < 0) return Status(Code::kNotFound, r + ": holds no snapshot '" + snap + "' (ddloop replica list)");
  const uint64_t id = lv.volume->state().snaps[i].id;
  DDL_RETURN_IF_ERROR(lv.volume->Revert("#" + std::to_string(id), nullptr));
  while (lv.volume->state().snaps.back().id != id) {
    const vol::SnapshotInfo last = lv.volume->state().snaps.back();
    DDL_RETURN_IF_ERROR(lv.volume->DeleteSnapshot("#" + std::to_string(last.id)));
    deleted->push_back(last.name);
  }
  // The forwards' positions stay: the next forward finds where each is.
  return lv.volume->Close();
}

}  // namespace ddl::replica
