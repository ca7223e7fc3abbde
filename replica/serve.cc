// serve.cc - Serve (serve.h): the switch loop, releasing old mounts, and
// the leftovers of a killed serve.
#include "replica/serve.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "attach/attach.h"
#include "attach/mount_table.h"
#include "attach/run_program.h"
#include "attach/teardown.h"
#include "attach/volume_open.h"
#include "replica/manifest_watch.h"
#include "replica/serve_dir.h"

namespace ddl::replica {

namespace {

using Clock = std::chrono::steady_clock;

// One snapshot attached and mounted at DIR/.snapshots/<uuid>.
struct Served {
  attach::Attachment a;
  std::string uuid;
  std::string name;
};

class Server {
 public:
  Server(const ServeSpec& s, attach::Runner* r, std::string dir, std::string vol)
      : s_(s), r_(r), dir_(std::move(dir)), vol_(std::move(vol)) {}

  void AdoptLeftovers();
  void Step();           // switch to the newest snapshot if it is new
  void ReleaseUnused();  // undo old snapshots nobody uses
  Status Shutdown();     // everything, waiting up to stop_wait_seconds for busy ones
  bool Stopping() const { return s_.stop && s_.stop(); }

 private:
  void Log(const std::string& line) {
    if (s_.log) s_.log(line);
  }
  // Logs `line` unless it is the one logged last by LogChange.
  void LogChange(const std::string& line) {
    if (line != last_) Log(line);
    last_ = line;
  }
  Status SwitchTo(const vol::SnapshotInfo& snap);
  Result<Served> AttachSnapshot(const vol::SnapshotInfo& snap);
  // Undoes one served snapshot; false while it is busy (lazy: never busy).
  bool Release(const Served& v, bool lazy);

  const ServeSpec& s_;
  attach::Runner* r_;
  const std::string dir_, vol_;
  std::optional<Served> current_;
  std::vector<Served> retired_;  // replaced, not yet released
  std::string last_;
  int failures_ = 0;  // attaching the newest, in a row: backoff
  Clock::time_point retry_at_;
};

Result<Served> Server::AttachSnapshot(const vol::SnapshotInfo& snap) {
  Served v;
  v.uuid = snap.uuid.ToString();
  v.name = snap.name;
  const std::string mp = SnapshotMountDir(dir_, v.uuid);
  Env* env = Env::Posix();
  if (!env->Exists(mp)) DDL_RETURN_IF_ERROR(env->MakeDir(mp));
  attach::AttachSpec as;
  as.volume = vol_;
  as.snapshot = v.uuid;  // as the mount point is named
  as.mount_fs = mp;
  as.mount_options = s_.mount_options;
  as.owner = ServeOwner(dir_);
  as.server_exe = s_.server_exe.empty() ? attach::SelfExe() : s_.server_exe;
  as.busy_exit = s_.busy_exit;
  auto at = attach::Attach(as, r_);
  if (!at.ok()) {
    ::rmdir(mp.c_str());
    return at.status();
  }
  v.a = at->a;
  return v;
}

Status Server::SwitchTo(const vol::SnapshotInfo& snap) {
  const std::string uuid = snap.uuid.ToString();
  // The newest may be one served before (a reseed went back to it): reuse it.
  Served next;
  auto old = std::find_if(retired_.begin(), retired_.end(), [&](const Served& v) { return v.uuid == uuid; });
  if (old != retired_.end()) {
    next = *old;
    retired_.erase(old);
  } else {
    DDL_ASSIGN_OR_RETURN(next, AttachSnapshot(snap));
  }
  if (Status st = PointCurrent(dir_, uuid); !st.ok()) {
    retired_.push_back(next);  // released below when unused
    return st;
  }
  if (current_) retired_.push_back(*current_);
  current_ = next;
  Log("serving snapshot " + next.name + " (" + uuid + ") at " + dir_ + "/" + kCurrentName);
  return Status::Ok();
}

void Server::Step() {
  auto st = attach::ReadVolumeState(vol_);
  if (!st.ok()) return LogChange(st.status().message() + " (retrying)");
  if (st->snaps.empty()) return LogChange(vol_ + ": no snapshot yet; waiting for the first sync");
  const vol::SnapshotInfo& newest = st->snaps.back();
  if (current_ && current_->uuid == newest.uuid.ToString()) return;
  if (failures_ > 0 && Clock::now() < retry_at_) return;
  Status s = SwitchTo(newest);
  if (s.ok()) {
    failures_ = 0;
    last_.clear();
    return;
  }
  // 1 s, 2 s, 4 s ... at most a minute between attempts; logged each time.
  const int delay = std::min(60, 1 << std::min(failures_, 6));
  failures_++;
  retry_at_ = Clock::now() + std::chrono::seconds(delay);
  Log("cannot serve snapshot " + newest.name + ": " + s.message() + " (retrying in " + std::to_string(delay) + " s)");
}

bool Server::Release(const Served& v, bool lazy) {
  if (attach::FsMounted(v.a, r_)) {
    int e = r_->Unmount(v.a.fs_mount, false);
    if (e == EBUSY && !lazy) return false;  // a reader is inside: keep it
    if (e != 0 && e != EINVAL && !lazy) {
      LogChange(v.a.fs_mount + ": cannot unmount: " + std::strerror(e) + " (retrying)");
      return false;
    }
    if (e != 0 && e != EINVAL && r_->Unmount(v.a.fs_mount, true) == 0)
      Log(v.a.fs_mount + ": still in use at stop: unmounted lazily");
  }
  std::vector<std::string> steps;
  if (Status st = attach::Teardown(v.a, /*force=*/true, &steps, r_); !st.ok()) {
    LogChange(st.message() + " (retrying)");
    return false;
  }
  ::rmdir(v.a.fs_mount.c_str());
  Log("released snapshot " + v.name + " (" + v.uuid + ")");
  return true;
}

void Server::ReleaseUnused() {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [&](const Served& v) { return Release(v, false); }),
                 retired_.end());
}

Status Server::Shutdown() {
  Status first = RemoveCurrent(dir_);
  if (current_) retired_.push_back(*current_);
  current_.reset();
  const auto deadline = Clock::now() + std::chrono::duration<double>(s_.stop_wait_seconds);
  for (;;) {
    ReleaseUnused();
    if (retired_.empty() || Clock::now() >= deadline) break;
    ::usleep(100000);
  }
  for (const Served& v : retired_)
    if (!Release(v, true) && first.ok()) first = IOError(v.a.fs_mount + ": cannot release at stop (see ddloop list)");
  retired_.clear();
  return first;
}

// A serve of this DIR that was killed left its attachments (found by owner)
// and maybe mounts its records do not name yet (killed between mount(8)
// and saving the record). Healthy, mounted ones are adopted as old
// snapshots (current again if DIR/current names one); the rest are undone.
void Server::AdoptLeftovers() {
  const std::string owner = ServeOwner(dir_), snapdir = dir_ + "/" + kSnapshotsName + "/";
  std::vector<attach::Attachment> undo;
  std::vector<std::string> adopted_mounts;
  for (const attach::Attachment& a : attach::ListAttachments()) {
    if (a.owner != owner) continue;
    const bool ours = a.volume == vol_ && a.fs_mount.rfind(snapdir, 0) == 0;
    if (ours && attach::Healthy(a, r_) && attach::FsMounted(a, r_)) {
      Served v{a, a.fs_mount.substr(snapdir.size()), a.snapshot};
      adopted_mounts.push_back(a.fs_mount);
      Log("adopted snapshot " + v.name + " (" + v.uuid + ") left by an earlier serve");
      if (v.uuid == CurrentUuid(dir_) && !current_) {
        current_ = v;
      } else {
        retired_.push_back(v);
      }
    } else {
      undo.push_back(a);
    }
  }
  if (auto table = attach::ReadMountTable(); table.ok()) {
    for (const attach::MountEntry& m : *table) {
      if (m.mount_point.rfind(snapdir, 0) != 0) continue;
      if (std::find(adopted_mounts.begin(), adopted_mounts.end(), m.mount_point) != adopted_mounts.end()) continue;
      if (r_->Unmount(m.mount_point, false) == EBUSY) r_->Unmount(m.mount_point, true);
      Log("unmounted " + m.mount_point + " (left by an earlier serve)");
    }
  }
  for (const attach::Attachment& a : undo) {
    std::vector<std::string> steps;
    Status st = attach::Teardown(a, /*force=*/true, &steps, r_);
    Log(st.ok() ? "undid attachment " + a.id + " (left by an earlier serve)" : st.message());
  }
  if (auto names = Env::Posix()->ListDir(snapdir.substr(0, snapdir.size() - 1)); names.ok())
    for (const std::string& n : *names) ::rmdir((snapdir + n).c_str());  // empty mount points; used ones stay
}

// R and DIR checked and made absolute; DIR created when missing.
Status Prepare(const ServeSpec& s, std::string* dir, std::string* vol) {
  if (!(s.poll_seconds >= 0.05 && s.poll_seconds <= 3600))
    return InvalidArgument("--poll must be 0.05 to 3600 seconds");
  if (!(s.stop_wait_seconds >= 0 && s.stop_wait_seconds <= 3600))
    return InvalidArgument("--stop-wait must be 0 to 3600 seconds");
  const std::string r = attach::VolumeDir(s.replica_dir);
  *vol = attach::VolumeDir(s.replica_dir + "/volume");
  DDL_RETURN_IF_ERROR(attach::ReadVolumeState(*vol).status());
  // Checked before DIR is made (nothing is created inside the replica),
  // and again once it exists and its links can be resolved.
  auto inside = [&](const std::string& d) { return d == r || d == *vol || d.rfind(*vol + "/", 0) == 0; };
  const Status refused = InvalidArgument(s.dir + ": inside the replica " + r + "; serve into a directory of its own");
  if (inside(attach::VolumeDir(s.dir))) return refused;
  Env* env = Env::Posix();
  if (!env->Exists(s.dir)) DDL_RETURN_IF_ERROR(env->MakeDir(s.dir));
  *dir = attach::VolumeDir(s.dir);
  return inside(*dir) ? refused : Status::Ok();
}

}  // namespace

Status Serve(const ServeSpec& spec, attach::Runner* r) {
  std::string dir, vol;
  DDL_RETURN_IF_ERROR(Prepare(spec, &dir, &vol));
  DDL_ASSIGN_OR_RETURN(
      std::unique_ptr<attach::VolumeLock> lock,
      attach::VolumeLock::Acquire(Env::Posix(), dir, "replica serve " + attach::VolumeDir(spec.replica_dir)));
  DDL_RETURN_IF_ERROR(CheckServeDir(dir));
  const std::string snapdir = dir + "/" + kSnapshotsName;
  if (!Env::Posix()->Exists(snapdir)) DDL_RETURN_IF_ERROR(Env::Posix()->MakeDir(snapdir));

  Server server(spec, r, dir, vol);
  server.AdoptLeftovers();
  ManifestWatch watch(vol);
  while (!server.Stopping()) {
    server.Step();
    server.ReleaseUnused();
    watch.Wait(spec.poll_seconds, spec.stop);
  }
  return server.Shutdown();
}

}  // namespace ddl::replica
