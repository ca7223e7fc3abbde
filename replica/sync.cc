#include "replica/sync.h"

#include <unistd.h>

#include <algorithm>
#include <set>

#include "attach/volume_open.h"
#include "backup/repository_head.h"
#include "deltafile/reader.h"
#include "deltafile/text_record.h"
#include "replica/chain_plan.h"
#include "replica/replica_dir.h"
#include "snapcore/volume_apply.h"
#include "snapcore/volume_format.h"

namespace ddl::replica {

namespace {

// The live head equal to the newest snapshot again (or the origin): what an
// apply killed before its seal, or an unfinished revert, left is dropped.
Status DiscardHead(vol::Volume* v, bool* discarded) {
  *discarded = false;
  if (v->HeadClean() && v->state().revert_target == 0) return Status::Ok();
  const vol::VolumeState& st = v->state();
  std::string key = st.snaps.empty() ? "origin" : "#" + std::to_string(st.snaps.back().id);
  *discarded = true;
  return v->Revert(key, nullptr);
}

// A snapshot name not used in the volume yet: the source's, else with the
// UUID's first 8 digits (the source deleted a name and reused it).
std::string FreeName(const vol::VolumeState& st, const std::string& want, const Uuid& u) {
  std::string n = want.empty() ? "snap-" + u.ToString().substr(0, 8) : want;
  if (st.Find(n) < 0 && n[0] != '#') return n;
  return (n[0] == '#' ? "s" + n.substr(1) : n) + "-" + u.ToString().substr(0, 8);
}

struct Upstream {
  RepoHead head;
  std::string tag;
  bool changed = true;
};

// HEAD, read conditionally. A repository without HEAD (pushed by hand with
// an older ddloop) gets one derived from the listing: its newest delta in
// chain order.
Status ReadUpstream(Transport* t, const ReplicaState& state, Upstream* u, std::vector<CatalogEntry>* listed) {
  Result<SmallRead> got = ReadHeadIfChanged(t, state.head_tag, &u->head);
  if (got.ok()) {
    u->changed = got->changed;
    u->tag = got->tag;
    // HEAD read whole but the one recorded (its seq only grows) is
    // unchanged: the http transport drops a tag read in the second HEAD
    // changed, and the poll after it costs one full read, not a sync.
    if (u->changed && state.head_seq != 0 && u->head.seq == state.head_seq &&
        u->head.target.snapshot == state.head.snapshot && u->head.target.fingerprint == state.head.fingerprint)
      u->changed = false;
    if (!u->changed) {
      u->head.seq = state.head_seq;
      u->head.target = state.head;
      u->head.snapshot_name = state.head_name;
    }
    return Status::Ok();
  }
  if (got.status().code() != Code::kNotFound) return got.status();
  DDL_RETURN_IF_ERROR(ReadManifest(t).status());  // "is there a repository at ...?"
  DDL_ASSIGN_OR_RETURN(Listing l, ListDeltas(t));
  *listed = l.entries;
  if (listed->empty()) return Status(Code::kNotFound, t->Describe("") + ": the repository holds no delta yet");
  const CatalogEntry& e = listed->back();
  u->head.entry = e.name;
  if (!Uuid::Parse(e.target_snapshot, &u->head.target.snapshot) ||
      !ParseFingerprintHex(e.target_fingerprint, &u->head.target.fingerprint))
    return Corruption(t->Describe("catalog/" + e.name + ".entry") + ": bad target identity");
  u->head.snapshot_name = e.target_name;
  return Status::Ok();
}

bool ForwardAt(const ReplicaState& s, const std::string& url, const Identity& at) {
  for (const ForwardPosition& p : s.forwards)
    if (p.url == url) return p.at.fingerprint == at.fingerprint;
  return false;
}

void SetForward(ReplicaState* s, const ForwardPosition& p) {
  for (ForwardPosition& q : s->forwards)
    if (q.url == p.url) {
      q = p;
      return;
    }
  s->forwards.push_back(p);
}

// The volume of the first (seed) delta of a replica made without --seed.
Status CreateVolumeFor(Env* env, const std::string& r, const std::string& seed, const ReplicaConfig& cfg) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(seed, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
  const Header& h = rr->header();
  if (h.volume_uuid != cfg.volume)
    return Status(Code::kForeign, seed + ": a delta of volume " + h.volume_uuid.ToString() + ", but " + r +
                                      " replicates volume " + cfg.volume.ToString());
  return CreateReplicaVolume(env, r, h);
}

// Removes from R/incoming what the plan does not need: a delta is removed
// once it is sealed, but a kill between the seal and that removal leaves it
// there, and the next plan starts after it, so nothing else ever would. A
// planned delta and its pull's part files (.NAME.CSUM.part, .NAME.X.tmp)
// stay, for the pull to skip or resume. Called under the replica's lock.
void PruneIncoming(Env* env, const std::string& in, const std::vector<CatalogEntry>& path) {
  Result<std::vector<std::string>> names = env->ListDir(in);
  if (!names.ok()) return;
  for (const std::string& n : *names) {
    bool keep = false;
    for (const CatalogEntry& e : path)
      keep = keep || n == e.name || n.compare(0, e.name.size() + 2, "." + e.name + ".") == 0;
    if (!keep) (void)env->Remove(in + "/" + n);
  }
}

// The plan PlanSync would make, found by following base_entry names back
// from HEAD (see the caller); any surprise is an error: list instead.
Result<SyncPlan> WalkBack(Transport* t, const RepoHead& head, const std::vector<Identity>& held) {
  SyncPlan plan;
  std::vector<CatalogEntry> back;
  std::set<std::string> seen;
  std::string name = head.entry;
  std::string want = head.target.fingerprint.Hex();
  // Bounded by the chain: a name is read once.
  while (true) {
    if (name.empty() || !seen.insert(name).second || seen.size() > kMaxListNames)
      return Status(Code::kNotFound, "no walk");
    DDL_ASSIGN_OR_RETURN(CatalogEntry e, ReadCatalogEntry(t, name));
    if (e.target_fingerprint != want) return Status(Code::kNotFound, "no walk");
    back.push_back(e);
    if (e.seed) {
      if (!held.empty()) return Status(Code::kNotFound, "no walk");
      break;
    }
    int b = -1;
    for (int i = int(held.size()) - 1; i >= 0 && b < 0; i--)
      if (held[i].fingerprint.Hex() == e.base_fingerprint) b = i;
    if (b >= 0) {
      plan.base = b;
      break;
    }
    want = e.base_fingerprint;
    name = e.base_entry;
  }
  plan.path.assign(back.rbegin(), back.rend());
  return plan;
}

}  // namespace

Status SyncOnce(const std::string& r, const SyncOptions& o, SyncReport* rep) {
  Env* env = Env::Posix();
  *rep = SyncReport();
  auto note = [&](const std::string& m) {
    if (o.note) o.note(m);
  };
  DDL_ASSIGN_OR_RETURN(ReplicaConfig cfg, LoadConfig(env, r));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaLock> lock, ReplicaLock::Acquire(env, r));
  ReplicaState state = LoadState(env, r, note);
  state.last_attempt_ns = vol::Entropy().NowNs();
  auto fail = [&](const Status& s) {
    state.last_error = s.message();
    state.phase = "";
    (void)SaveState(env, r, state);
    return s;
  };

  // The volume is read without opening it for writing until there is
  // something to apply: an idle or refused sync writes nothing into it.
  const std::string vdir = VolumePath(r);
  attach::LockedVolume lv;
  std::vector<Identity> held;
  std::vector<vol::SnapshotInfo> snaps;
  if (env->Exists(vol::ManifestPath(vdir))) {
    Result<vol::VolumeState> vs = attach::ReadVolumeState(vdir);
    if (!vs.ok()) return fail(vs.status());
    if (vs->volume != cfg.volume)
      return fail(Status(Code::kForeign, vdir + ": a volume of " + vs->volume.ToString() + ", but " + r +
                                             "/config says " + cfg.volume.ToString()));
    snaps = vs->snaps;
    for (const vol::SnapshotInfo& sn : snaps) held.push_back(sn.identity());
  }
  auto open_volume = [&]() -> Status {
    vol::OpenOptions vo;
    vo.allow_pending_revert = true;
    vo.note = note;
    DDL_ASSIGN_OR_RETURN(lv, attach::OpenLocked(vdir, "replica sync", vo));
    if (lv.volume->state().volume != cfg.volume)
      return Status(Code::kForeign, vdir + ": a volume of " + lv.volume->state().volume.ToString() + ", but " + r +
                                        "/config says " + cfg.volume.ToString());
    if (lv.volume->state().snaps.size() != held.size())
      return Status(Code::kBusy, vdir + ": its snapshots changed during the sync (another writer?); try again");
    DDL_RETURN_IF_ERROR(DiscardHead(lv.volume.get(), &rep->discarded_head));
    if (rep->discarded_head) note(r + ": discarded the unsealed state an interrupted apply or revert left");
    return Status::Ok();
  };

  Result<std::unique_ptr<Transport>> upr = o.open(cfg.upstream);
  if (!upr.ok()) return fail(upr.status());
  Transport* up = upr->get();
  Upstream u;
  std::vector<CatalogEntry> entries;
  bool listed = false;
  {
    Status s = ReadUpstream(up, state, &u, &entries);
    if (!s.ok()) return fail(s);
    listed = !entries.empty();
  }
  rep->head = u.head;
  const Identity newest = held.empty() ? Identity() : held.back();
  auto forwards_done = [&] {
    for (const std::string& f : cfg.forwards)
      if (!ForwardAt(state, f, newest)) return false;
    return true;
  };
  if (!u.changed && !held.empty() && newest.fingerprint == u.head.target.fingerprint &&
      (!o.forward || forwards_done())) {
    rep->not_modified = rep->up_to_date = true;
    rep->at = newest;
    rep->at_name = snaps.back().name;
    state.head_tag = u.tag;  // a new tag for the same HEAD (ReadUpstream)
    state.last_success_ns = vol::Entropy().NowNs();
    state.last_error = "";
    return SaveState(env, r, state);
  }
  if (u.changed) {
    Result<RepoManifest> m = ReadManifest(up);
    if (!m.ok()) return fail(m.status());
    if (!m->volume.IsNil() && m->volume != cfg.volume)
      return fail(Status(Code::kForeign, up->Describe("") + ": a repository of volume " + m->volume.ToString() +
                                             ", but " + r + " replicates volume " + cfg.volume.ToString()));
  }

  SyncPlan plan;
  plan.up_to_date = false;
  bool at_head = false;
  for (const Identity& h : held) at_head = at_head || h.fingerprint == u.head.target.fingerprint;
  bool walked = false;
  if (!at_head && !listed) {
    // Back from HEAD by the entries' base_entry names: one small read per
    // delta behind, no listing. Anything unexpected (an entry without the
    // hint, removed, not chaining, a seed with snapshots held) falls back to
    // the whole catalog, where PlanSync decides.
    Result<SyncPlan> w = WalkBack(up, u.head, held);
    walked = w.ok();
    if (walked) plan = *w;
  }
  if (!at_head && !walked) {
    if (!listed) {
      Result<Listing> l = ListDeltas(up);
      if (!l.ok()) return fail(l.status());
      if (!l->skipped.ok()) note(l->skipped.message());
      entries = std::move(l->entries);
    }
    Result<SyncPlan> p = PlanSync(entries, u.head.target, u.head.entry, held, up->Describe(""));
    if (!p.ok()) return fail(p.status());
    plan = *p;
  }

  if (env->Exists(IncomingPath(r))) PruneIncoming(env, IncomingPath(r), plan.path);
  if (!plan.path.empty()) {
    const std::string in = IncomingPath(r);
    if (!env->Exists(in)) {
      Status s = env->MakeDir(in);
      if (!s.ok()) return fail(s);
    }
    state.phase = "pull " + std::to_string(plan.path.size()) + " deltas (pid " + std::to_string(getpid()) + ")";
    (void)SaveState(env, r, state);
    std::vector<FileResult> fr;
    Status pulled = PullEntries(up, in, plan.path, o.repo, &fr);
    if (!pulled.ok()) return fail(pulled);
    {
      Status s = snaps.empty() && !env->Exists(vol::ManifestPath(vdir))
                     ? CreateVolumeFor(env, r, in + "/" + plan.path[0].name, cfg)
                     : Status::Ok();
      if (s.ok()) s = open_volume();
      if (!s.ok()) return fail(s);
    }
    if (plan.base >= 0 && plan.base != int(held.size()) - 1) {
      const vol::SnapshotInfo& back = lv.volume->state().snaps[plan.base];
      rep->reverted_to = back.name;
      note(r + ": going back to " + back.name + " (" + back.uuid.ToString() +
           "), the newest snapshot that is a base upstream");
      Status s = lv.volume->Revert("#" + std::to_string(back.id), nullptr);
      if (!s.ok()) return fail(s);
    }
    Identity cur = plan.base >= 0 ? held[plan.base] : Identity();
    state.phase = "apply (pid " + std::to_string(getpid()) + ")";
    (void)SaveState(env, r, state);
    for (const CatalogEntry& e : plan.path) {
      const std::string file = in + "/" + e.name;
      vol::VolumeApplyOptions ao;
      Uuid target;
      (void)Uuid::Parse(e.target_snapshot, &target);
      ao.name = FreeName(lv.volume->state(), e.target_name, target);
      ao.create_ns = e.target_created_ns;
      if (o.apply_progress) ao.progress = [&](uint64_t d, uint64_t t) { o.apply_progress(e.name, d, t); };
      vol::VolumeApplyResult ar;
      Status s = vol::ApplyDeltaToVolume(env, lv.volume.get(), file, cur, ao, &ar);
      if (!s.ok()) return fail(s);
      cur = ar.snapshot.identity();
      rep->applied.push_back(SyncedSnapshot{ar.snapshot.name, cur, e.name});
      (void)env->Remove(file);  // sealed: the volume holds it now
    }
  }
  if (lv.volume) snaps = lv.volume->state().snaps;
  if (snaps.empty()) return fail(Status(Code::kNotFound, up->Describe("") + ": nothing to sync from yet"));
  const bool has_snaps = true;
  rep->at = snaps.back().identity();
  rep->at_name = snaps.back().name;
  rep->up_to_date = true;
  state.head_tag = u.tag;
  state.head_seq = u.head.seq;
  state.head = u.head.target;
  state.head_name = u.head.snapshot_name;
  state.phase = "";
  state.last_error = "";
  state.last_success_ns = vol::Entropy().NowNs();
  DDL_RETURN_IF_ERROR(SaveState(env, r, state));

  ReplicaPosition pos;
  pos.id = cfg.id;
  pos.at = rep->at;
  pos.snapshot_name = rep->at_name;
  pos.updated_ns = vol::Entropy().NowNs();
  Status posted = WriteReplicaPosition(up, pos);
  if (!posted.ok()) note("could not record this replica's position upstream (" + posted.message() + ")");

  // Only sealed snapshots leave; the volume's lock is not needed for that.
  lv.volume.reset();
  lv.lock.reset();
  if (!o.forward || !has_snaps) return Status::Ok();
  Status first = Status::Ok();
  for (const std::string& url : cfg.forwards) {
    ForwardResult fw;
    fw.url = url;
    if (ForwardAt(state, url, rep->at)) {
      fw.at = rep->at;
      rep->forwards.push_back(fw);
      continue;
    }
    state.phase = "forward " + url + " (pid " + std::to_string(getpid()) + ")";
    (void)SaveState(env, r, state);
    Result<std::unique_ptr<Transport>> ft = o.open(url);
    if (ft.ok()) {
      PublishOptions po;
      po.work_dir = r;
      po.level = o.level;
      po.threads = o.threads;
      po.repo = o.repo;
      po.note = o.note;
      PublishReport pr;
      fw.status = PublishVolume(vdir, ft->get(), po, &pr);
      fw.published = int(pr.deltas.size());
      fw.at = pr.head.target;
      if (fw.status.ok())
        SetForward(&state, ForwardPosition{url, pr.head.target, pr.head.snapshot_name, vol::Entropy().NowNs()});
    } else {
      fw.status = ft.status();
    }
    if (!fw.status.ok() && first.ok())
      first = Status(fw.status.code(), "forward to " + url + ": " + fw.status.message());
    rep->forwards.push_back(fw);
  }
  state.phase = "";
  state.last_error = first.ok() ? "" : first.message();
  DDL_RETURN_IF_ERROR(SaveState(env, r, state));
  return first;
}

Status SyncWithRetry(const std::string& r, const SyncOptions& o, int attempts,
                     const std::function<bool(double seconds)>& sleep, SyncReport* rep) {
  double wait = 1;
  for (int i = 1;; i++) {
    Status s = SyncOnce(r, o, rep);
    bool transient = s.code() == Code::kRemote;
    if (s.ok() || !transient || i >= attempts) return s;
    if (o.note)
      o.note(s.message() + "; retrying in " + std::to_string(int(wait)) + " s (attempt " + std::to_string(i + 1) +
             " of " + std::to_string(attempts) + ")");
    if (!sleep(wait)) return s;
    wait = std::min(wait * 2, 60.0);
  }
}

}  // namespace ddl::replica
