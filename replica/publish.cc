#include "replica/publish.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "attach/volume_open.h"
#include "snapcore/volume_delta.h"

namespace ddl::replica {

namespace {

const CatalogEntry* FindDelta(const std::vector<CatalogEntry>& all, const vol::SnapshotInfo* from,
                              const vol::SnapshotInfo& to) {
  for (const CatalogEntry& e : all) {
    if (e.target_fingerprint != to.fingerprint.Hex() || e.target_snapshot != to.uuid.ToString()) continue;
    if (from ? (!e.seed && e.base_fingerprint == from->fingerprint.Hex()) : e.seed) return &e;
  }
  return nullptr;
}

bool NameTaken(const std::vector<CatalogEntry>& all, const std::string& name) {
  for (const CatalogEntry& e : all)
    if (e.name == name) return true;
  return false;
}

constexpr char kWorkPrefix[] = ".ddloop-publish-";

// The pid in a work directory's name (.ddloop-publish-PID-RANDOM), or 0.
pid_t WorkDirPid(const std::string& name) {
  const size_t start = sizeof(kWorkPrefix) - 1;
  if (name.compare(0, start, kWorkPrefix) != 0) return 0;
  const size_t dash = name.find('-', start);
  if (dash == std::string::npos || dash == start || dash - start > 9) return 0;
  pid_t pid = 0;
  for (size_t i = start; i < dash; i++) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return 0;
    pid = pid * 10 + (name[i] - '0');
  }
  return pid;
}

// Removes the work directories under `work` of runs that were killed: a
// run removes each deltafile once it is pushed and its directory at the
// end, but SIGKILL leaves a partial deltafile (up to a seed, as large as
// the volume's data) that nothing would ever remove. A directory whose pid
// is alive, or that has no pid (unknown owner), is left alone; a pid of
// another pid namespace sharing `work` would be judged in ours.
void RemoveDeadWorkDirs(Env* env, const std::string& work) {
  Result<std::vector<std::string>> names = env->ListDir(work);
  if (!names.ok()) return;
  for (const std::string& n : *names) {
    const pid_t pid = WorkDirPid(n);
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    const std::string d = work + "/" + n;
    Result<std::vector<std::string>> files = env->ListDir(d);
    if (files.ok())
      for (const std::string& f : *files) (void)env->Remove(d + "/" + f);
    (void)::rmdir(d.c_str());
  }
}

// A private directory under `work` for this run's deltafiles, named with
// the pid (RemoveDeadWorkDirs).
Result<std::string> MakeWorkDir(Env* env, const std::string& work) {
  for (int i = 0; i < 8; i++) {
    std::string d = work + "/" + kWorkPrefix + std::to_string(::getpid()) + "-" + RandomHex();
    Status s = env->MakeDir(d);
    if (s.ok()) return d;
    if (env->Exists(d)) continue;
    return s;
  }
  return Status(Code::kIOError, work + ": cannot make a private directory for the deltas");
}

}  // namespace

std::string PublishedName(const std::string& snapshot_name, const Uuid& snapshot) {
  std::string n;
  for (unsigned char ch : snapshot_name.substr(0, 150))
    n += (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '+') ? char(ch) : '_';
  if (n.empty() || n[0] == '.') n = "snap" + n;
  return n + "-" + snapshot.ToString().substr(0, 8) + ".ddl";
}

Status PublishVolume(const std::string& vol_dir, Transport* t, const PublishOptions& o, PublishReport* r) {
  Env* env = Env::Posix();
  *r = PublishReport();
  std::unique_ptr<LockedFile> lock;
  if (!o.lock_path.empty()) {
    Result<std::unique_ptr<LockedFile>> l = env->LockFile(o.lock_path, true);
    if (!l.ok() && l.status().code() == Code::kBusy)
      return Status(Code::kBusy, t->Describe("") + ": another publish of " + vol_dir + " to it is running (" +
                                     o.lock_path + " is locked)");
    if (!l.ok()) return l.status();
    lock = std::move(*l);
  }
  auto note = [&](const std::string& m) {
    if (o.note) o.note(m);
  };
  RemoveDeadWorkDirs(env, o.work_dir);  // first: also when there is nothing to publish
  DDL_ASSIGN_OR_RETURN(vol::VolumeState st, attach::ReadVolumeState(vol_dir));
  int upto = int(st.snaps.size()) - 1;
  if (!o.upto.empty()) {
    upto = st.Find(o.upto);
    if (upto < 0) return Status(Code::kNotFound, vol_dir + ": no snapshot '" + o.upto + "'");
  }
  if (upto < 0) return InvalidArgument(vol_dir + ": no snapshot to publish yet (ddloop snapshot create)");

  Result<RepoManifest> m = ReadManifest(t);
  if (!m.ok() && m.status().code() != Code::kNotFound) return m.status();
  if (m.ok() && !m->volume.IsNil() && m->volume != st.volume)
    return Status(Code::kForeign, t->Describe("") + ": holds volume " + m->volume.ToString() + ", not " + vol_dir +
                                      " (volume " + st.volume.ToString() + ")");
  Result<RepoHead> head = ReadHead(t);
  if (!head.ok() && head.status().code() != Code::kNotFound) return head.status();
  // When HEAD names one of ours (every publish after the first), the next
  // deltas' entries are looked up by their names, one small read each: the
  // catalog is listed (a read per entry) only when the repository went
  // elsewhere or is new, or a name is taken by another delta.
  bool head_ours = false;
  for (const vol::SnapshotInfo& sn : st.snaps)
    head_ours = head_ours || (head.ok() && sn.fingerprint == head->target.fingerprint);
  std::vector<CatalogEntry> all;
  bool listed = false;
  auto list = [&]() -> Status {
    DDL_ASSIGN_OR_RETURN(Listing l, ListDeltas(t));
    DDL_RETURN_IF_ERROR(l.skipped);  // never publish over a catalog we cannot fully read
    all = std::move(l.entries);
    listed = true;
    return Status::Ok();
  };
  if (m.ok() && !head_ours) DDL_RETURN_IF_ERROR(list());

  // Where to start: -1 a seed of the oldest snapshot.
  int start = -2;
  if (head.ok()) {
    for (int i = int(st.snaps.size()) - 1; i >= 0 && start == -2; i--)
      if (st.snaps[i].fingerprint == head->target.fingerprint) start = i;
    if (start >= upto) {  // HEAD already has it (or a later snapshot of ours)
      r->head = *head;
      return Status::Ok();
    }
    if (start >= 0 && start < upto) {
      // HEAD is ours and older: go on from it.
    } else {
      start = -2;
    }
  }
  if (start == -2) {
    for (int i = upto; i >= 0 && start == -2; i--)
      for (const CatalogEntry& e : all)
        if (e.target_fingerprint == st.snaps[i].fingerprint.Hex()) {
          start = i;
          break;
        }
    if (start >= 0 && head.ok()) {
      r->moved_sideways = true;
      note(t->Describe("HEAD") + " names " + head->target.ToString() + ", which " + vol_dir +
           " does not hold; publishing from " + st.snaps[start].name + " (the newest snapshot the repository has)");
    }
  }
  if (start == -2) {
    if (!all.empty())
      return Status(Code::kBrokenChain, t->Describe("") + ": holds deltas but none of " + vol_dir +
                                            "'s snapshots; publish into an empty repository");
    start = -1;
  }
  if (start == upto) {
    if (head.ok()) r->head = *head;
    if (!r->moved_sideways) return Status::Ok();
  }

  // The entry whose target each new delta's base is (CatalogEntry::base_entry).
  std::string prev_entry;
  if (start >= 0) {
    if (head.ok() && head->target.fingerprint == st.snaps[start].fingerprint) prev_entry = head->entry;
    for (const CatalogEntry& e : all)
      if (prev_entry.empty() && e.target_fingerprint == st.snaps[start].fingerprint.Hex()) prev_entry = e.name;
  }

  std::string work;
  if (start < upto) {
    DDL_ASSIGN_OR_RETURN(work, MakeWorkDir(env, o.work_dir));
  }
  Status result = Status::Ok();
  for (int j = start + 1; j <= upto && result.ok(); j++) {
    const vol::SnapshotInfo& to = st.snaps[j];
    const vol::SnapshotInfo* from = j == 0 ? nullptr : &st.snaps[j - 1];
    PublishedDelta pd;
    pd.snapshot_name = to.name;
    pd.target = to.identity();
    pd.seed = from == nullptr;
    if (!listed) {  // by name: the entry an earlier, interrupted run made, or none
      Result<CatalogEntry> named = ReadCatalogEntry(t, PublishedName(to.name, to.uuid));
      if (named.ok()) {
        all = {*named};
        if (!FindDelta(all, from, to)) result = list();  // the name is another delta's: look at everything
        if (!result.ok()) break;
      } else if (named.status().code() != Code::kNotFound) {
        result = named.status();
        break;
      }
    }
    const CatalogEntry* there = FindDelta(all, from, to);
    CatalogEntry entry;
    if (there) {
      entry = *there;
      pd.entry = there->name;
      pd.size = there->size;
    } else {
      std::string name = PublishedName(to.name, to.uuid);
      if (NameTaken(all, name))
        name = name.substr(0, name.size() - 4) + "-" + (from ? from->uuid.ToString().substr(0, 8) : "seed") + ".ddl";
      const std::string path = work + "/" + name;
      auto made = [&]() -> Status {
        DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kCreateNew));
        vol::VolumeDeltaOptions vo;
        vo.from = from ? "#" + std::to_string(from->id) : "";
        vo.to = "#" + std::to_string(to.id);
        vo.level = o.level;
        vo.threads = o.threads;
        vol::VolumeDeltaResult vr;
        DDL_RETURN_IF_ERROR(vol::WriteVolumeDelta(env, vol_dir, vo, f.get(), &vr));
        return f->Sync();
      }();
      if (!made.ok()) {
        result = made;
        (void)env->Remove(path);
        break;
      }
      RepoOptions ro = o.repo;
      const std::string snap_name = to.name;
      const uint64_t snap_time = to.create_ns;
      ro.snapshot_name = [snap_name](const std::string&) { return snap_name; };
      ro.snapshot_time = [snap_time](const std::string&) { return snap_time; };
      ro.base_entry = [prev_entry](const std::string&) { return prev_entry; };
      std::vector<FileResult> fr;
      Status pushed = PushDeltas(t, {path}, ro, &fr);
      (void)env->Remove(path);
      if (!fr.empty()) pd.stats = fr[0].stats, pd.size = fr[0].size;
      if (!pushed.ok()) {
        result = pushed;
        break;
      }
      pd.entry = name;
      pd.uploaded = true;
      Result<CatalogEntry> e = ReadCatalogEntry(t, name);
      if (!e.ok()) {
        result = e.status();
        break;
      }
      entry = *e;
      all.push_back(entry);
    }
    Result<RepoHead> now = ReadHead(t);
    if (!now.ok() && now.status().code() != Code::kNotFound) {
      result = now.status();
      break;
    }
    if (!now.ok() || now->target.fingerprint != to.fingerprint) {
      result = MoveHead(t, entry);
      if (!result.ok()) break;
    }
    r->deltas.push_back(pd);
    prev_entry = entry.name;
  }
  if (!work.empty()) (void)::rmdir(work.c_str());  // empty: each deltafile was removed after its push
  DDL_RETURN_IF_ERROR(result);
  if (start == upto && r->moved_sideways) {  // the newest is there already, HEAD elsewhere
    Result<CatalogEntry> e = Status(Code::kNotFound, "");
    for (const CatalogEntry& c : all)
      if (c.target_fingerprint == st.snaps[upto].fingerprint.Hex()) e = c;
    if (e.ok()) DDL_RETURN_IF_ERROR(MoveHead(t, *e));
  }
  DDL_ASSIGN_OR_RETURN(r->head, ReadHead(t));
  return Status::Ok();
}

}  // namespace ddl::replica
