// cmd_replica.cc - `ddloop replica init|sync|status|list|revert`: replicas
// that sync from a repository, keep its snapshots and forward them
// (replica/*.h; ddloop-replica(8)). `replica serve` is cmd_replica_serve.cc.
#include <memory>

#include "ddloop/command.h"
#include "ddloop/output.h"
#include "ddloop/remote.h"
#include "ddloop/volume_commands.h"
#include "deltafile/duration_value.h"
#include "replica/init.h"
#include "replica/status.h"
#include "replica/stop_signal.h"
#include "replica/sync.h"

namespace ddl::cli {

namespace {

struct ReplicaCmdOptions {
  std::string r;
  std::string from;
  std::string seed, seed_archive;
  std::vector<std::string> forwards;
  std::string id;
  std::string watch;
  int attempts = 6;
  bool no_forward = false;
  bool offline = false;
  std::string snap;
  int level = 3;
  int threads = 0;
  RemoteOptions remote;
  TransferCmdOptions transfer;
};

Json ReplicaSnapJson(const std::string& name, const Identity& id) {
  return Json().Str("name", name).Str("uuid", id.snapshot.ToString()).Str("fingerprint", id.fingerprint.Hex());
}

void ReplicaNote(const ReplicaCmdOptions& o, const std::string& m) {
  if (!o.transfer.quiet && !o.transfer.json) std::fprintf(stderr, "ddloop replica: %s\n", m.c_str());
}

bool HasUserinfo(const std::string& url) {
  std::string u, rest;
  return SplitUserinfo(url, &u, &rest);
}

Status RunReplicaInit(ReplicaCmdOptions& o) {
  for (const std::string& u : o.forwards)
    if (HasUserinfo(u))
      return InvalidArgument(RedactUrl(u) + ": keep passwords out of URLs a replica stores (use --netrc)");
  if (HasUserinfo(o.from))
    return InvalidArgument(RedactUrl(o.from) + ": keep passwords out of URLs a replica stores (use --netrc)");
  replica::InitOptions io;
  io.upstream = o.from;
  io.forwards = o.forwards;
  io.id = o.id;
  io.seed = o.seed;
  io.seed_archive = o.seed_archive;
  io.open = RemoteOpener(o.remote);
  io.note = [&o](const std::string& m) { ReplicaNote(o, m); };
  replica::InitReport rep;
  DDL_RETURN_IF_ERROR(replica::InitReplica(o.r, io, &rep));
  if (o.transfer.json) {
    std::vector<Json> seeded;
    for (const replica::SyncedSnapshot& s : rep.seeded)
      seeded.push_back(ReplicaSnapJson(s.name, s.id).Str("delta", s.delta));
    std::printf("%s\n", Json()
                            .Str("replica", o.r)
                            .Str("upstream", RedactUrl(o.from))
                            .Str("volume", rep.volume.ToString())
                            .Arr("snapshots", seeded)
                            .Bool("upstream_checked", rep.upstream_checked)
                            .Dump()
                            .c_str());
  } else if (!o.transfer.quiet) {
    std::printf("replica %s of volume %s from %s\n", o.r.c_str(), rep.volume.ToString().c_str(),
                RedactUrl(o.from).c_str());
    for (const replica::SyncedSnapshot& s : rep.seeded)
      std::printf("seeded %s (%s) from %s\n", s.name.c_str(), s.id.ToString().c_str(), s.delta.c_str());
  }
  return Status::Ok();
}

void PrintReplicaSync(const ReplicaCmdOptions& o, const replica::SyncReport& rep, const Status& s) {
  if (o.transfer.json) {
    std::vector<Json> applied, fw;
    for (const replica::SyncedSnapshot& a : rep.applied)
      applied.push_back(ReplicaSnapJson(a.name, a.id).Str("delta", a.delta));
    for (const replica::ForwardResult& f : rep.forwards) {
      Json j;
      j.Str("url", RedactUrl(f.url)).Num("published", f.published).Obj("at", IdentityJson(f.at));
      j.Str("status", f.status.ok() ? "ok" : "failed");
      if (!f.status.ok()) j.Str("error", f.status.message());
      fw.push_back(j);
    }
    Json j;
    j.Str("replica", o.r)
        .Bool("not_modified", rep.not_modified)
        .Bool("up_to_date", rep.up_to_date && s.ok())
        .Bool("discarded_head", rep.discarded_head)
        .Str("reverted_to", rep.reverted_to)
        .Arr("applied", applied)
        .Arr("forwards", fw)
        .Obj("at", ReplicaSnapJson(rep.at_name, rep.at))
        .Num("head_seq", rep.head.seq);
    if (!s.ok()) j.Str("error", s.message());
    std::printf("%s\n", j.Dump().c_str());
    std::fflush(stdout);
    return;
  }
  if (o.transfer.quiet || !s.ok()) return;
  for (const replica::SyncedSnapshot& a : rep.applied)
    std::printf("applied %s (%s) from %s\n", a.name.c_str(), a.id.ToString().c_str(), a.delta.c_str());
  for (const replica::ForwardResult& f : rep.forwards)
    if (f.published) std::printf("forwarded %d to %s\n", f.published, RedactUrl(f.url).c_str());
  std::printf("%s at %s (%s)%s\n", o.r.c_str(), rep.at_name.c_str(), rep.at.ToString().c_str(),
              rep.not_modified      ? ", unchanged upstream"
              : rep.applied.empty() ? ", up to date"
                                    : "");
  std::fflush(stdout);
}

Status RunReplicaSync(ReplicaCmdOptions& o) {
  replica::SyncOptions so;
  so.open = RemoteOpener(o.remote);
  so.level = o.level;
  so.threads = o.threads > 0 ? o.threads : DefaultThreads();
  so.forward = !o.no_forward;
  so.note = [&o](const std::string& m) { ReplicaNote(o, m); };
  TransferRun run(o.transfer, o.remote, "sync " + o.r);
  DDL_RETURN_IF_ERROR(run.Setup(&so.repo));
  double every = 0;
  if (!o.watch.empty()) DDL_RETURN_IF_ERROR(ParseDuration("--watch", o.watch, &every));
  if (o.watch.empty()) {
    replica::SyncReport rep;
    Status s = replica::SyncWithRetry(
        o.r, so, o.attempts, [](double sec) { return replica::SleepUnlessStopped(sec); }, &rep);
    run.FinishProgress();
    PrintReplicaSync(o, rep, s);
    return s;
  }
  replica::CatchStopSignals();
  while (!replica::StopRequested()) {
    replica::SyncReport rep;
    Status s = replica::SyncWithRetry(
        o.r, so, o.attempts, [](double sec) { return replica::SleepUnlessStopped(sec); }, &rep);
    run.FinishProgress();
    if (!s.ok()) {
      // A lineage fact or a foreign upstream does not change by waiting.
      if (s.code() == Code::kNeedsReseed || s.code() == Code::kForeign) return s;
      std::fprintf(stderr, "ddloop replica sync: %s (next attempt in %s)\n", s.message().c_str(), o.watch.c_str());
    }
    if (s.ok() && !rep.not_modified) PrintReplicaSync(o, rep, s);
    if (s.ok() && rep.not_modified && o.transfer.json) PrintReplicaSync(o, rep, s);
    replica::SleepUnlessStopped(every);
  }
  return Status::Ok();
}

Status RunReplicaStatus(ReplicaCmdOptions& o) {
  replica::ReplicaStatus st;
  replica::OpenTransportFn open = o.offline ? replica::OpenTransportFn() : RemoteOpener(o.remote);
  DDL_RETURN_IF_ERROR(replica::ReadReplicaStatus(o.r, open, &st));
  const replica::ReplicaState& s = st.state;
  std::string in_flight = st.busy ? (s.phase.empty() ? "locked" : s.phase) : "";
  std::string interrupted = !st.busy && !s.phase.empty() ? s.phase : "";
  if (o.transfer.json) {
    Json j;
    j.Str("replica", o.r).Str("id", st.config.id).Str("upstream", RedactUrl(st.config.upstream));
    j.Str("volume", st.config.volume.ToString()).Num("snapshots", st.snapshots.size());
    if (!st.snapshots.empty()) {
      const vol::SnapshotInfo& n = st.snapshots.back();
      j.Obj("newest", ReplicaSnapJson(n.name, n.identity()).Str("created", IsoTime(n.create_ns)));
    }
    if (st.upstream_asked) {
      if (st.upstream.ok())
        j.Obj("head", ReplicaSnapJson(st.head.snapshot_name, st.head.target).Num("seq", st.head.seq));
      else
        j.Str("upstream_error", st.upstream.message());
      if (st.lag >= 0) j.Num("lag", st.lag);
    }
    j.Str("last_success", s.last_success_ns ? IsoTime(s.last_success_ns) : "");
    j.Str("last_attempt", s.last_attempt_ns ? IsoTime(s.last_attempt_ns) : "");
    j.Str("last_error", s.last_error).Str("in_flight", in_flight).Str("interrupted", interrupted);
    std::vector<Json> fw;
    for (const std::string& f : st.config.forwards) {
      Json k;
      k.Str("url", RedactUrl(f));
      for (const replica::ForwardPosition& p : s.forwards)
        if (p.url == f) k.Obj("at", ReplicaSnapJson(p.snapshot_name, p.at)).Str("updated", IsoTime(p.updated_ns));
      fw.push_back(k);
    }
    j.Arr("forwards", fw);
    std::printf("%s\n", j.Dump().c_str());
    return Status::Ok();
  }
  std::printf("replica:      %s (id %s, volume %s)\n", o.r.c_str(), st.config.id.c_str(),
              st.config.volume.ToString().c_str());
  std::printf("upstream:     %s\n", RedactUrl(st.config.upstream).c_str());
  if (st.snapshots.empty()) {
    std::printf("newest:       none yet\n");
  } else {
    const vol::SnapshotInfo& n = st.snapshots.back();
    std::printf("newest:       %s (%s, fingerprint %s, %s); %zu snapshots\n", n.name.c_str(), n.uuid.ToString().c_str(),
                n.fingerprint.Hex().substr(0, 16).c_str(), IsoTime(n.create_ns).c_str(), st.snapshots.size());
  }
  if (st.upstream_asked) {
    if (!st.upstream.ok())
      std::printf("HEAD:         unknown (%s)\n", st.upstream.message().c_str());
    else
      std::printf("HEAD:         %s (seq %llu); %s\n", st.head.snapshot_name.c_str(), (unsigned long long)st.head.seq,
                  st.lag == 0  ? "up to date"
                  : st.lag > 0 ? (std::to_string(st.lag) + " behind").c_str()
                               : "needs a reseed");
  }
  std::printf("last sync:    %s\n", s.last_success_ns ? IsoTime(s.last_success_ns).c_str() : "never");
  if (!s.last_error.empty()) std::printf("last error:   %s\n", s.last_error.c_str());
  if (!in_flight.empty()) std::printf("in flight:    %s\n", in_flight.c_str());
  if (!interrupted.empty())
    std::printf("interrupted:  %s (the next sync finishes or discards it)\n", interrupted.c_str());
  for (const std::string& f : st.config.forwards) {
    std::string at = "not yet";
    for (const replica::ForwardPosition& p : s.forwards)
      if (p.url == f) at = p.snapshot_name + " (" + IsoTime(p.updated_ns) + ")";
    std::printf("forward:      %s at %s\n", RedactUrl(f).c_str(), at.c_str());
  }
  return Status::Ok();
}

Status RunReplicaList(ReplicaCmdOptions& o) {
  replica::ReplicaStatus st;
  DDL_RETURN_IF_ERROR(replica::ReadReplicaStatus(o.r, replica::OpenTransportFn(), &st));
  if (o.transfer.json) {
    std::vector<Json> all;
    for (const vol::SnapshotInfo& s : st.snapshots)
      all.push_back(ReplicaSnapJson(s.name, s.identity()).Str("created", IsoTime(s.create_ns)).Num("chunks", s.chunks));
    std::printf("%s\n", Json().Str("replica", o.r).Arr("snapshots", all).Dump().c_str());
    return Status::Ok();
  }
  if (st.snapshots.empty()) {
    std::printf("no snapshots\n");
    return Status::Ok();
  }
  std::printf("%-24s %-36s %-16s %s\n", "NAME", "UUID", "FINGERPRINT", "CREATED");
  for (const vol::SnapshotInfo& s : st.snapshots)
    std::printf("%-24s %-36s %-16s %s\n", s.name.c_str(), s.uuid.ToString().c_str(),
                s.fingerprint.Hex().substr(0, 16).c_str(), IsoTime(s.create_ns).c_str());
  return Status::Ok();
}

Status RunReplicaRevert(ReplicaCmdOptions& o) {
  std::vector<std::string> deleted;
  DDL_RETURN_IF_ERROR(replica::RevertReplica(o.r, o.snap, &deleted));
  if (o.transfer.json) {
    std::vector<Json> d;
    for (const std::string& n : deleted) d.push_back(Json().Str("name", n));
    std::printf("%s\n", Json().Str("replica", o.r).Str("at", o.snap).Arr("deleted", d).Dump().c_str());
  } else if (!o.transfer.quiet) {
    for (const std::string& n : deleted) std::printf("deleted snapshot %s\n", n.c_str());
    std::printf("%s is at %s\n", o.r.c_str(), o.snap.c_str());
  }
  return Status::Ok();
}

void AddReplicaOutput(CLI::App* app, ReplicaCmdOptions* o) {
  app->add_flag("--json", o->transfer.json, "Print a JSON object");
  app->add_flag("-q,--quiet", o->transfer.quiet, "Print nothing on success");
}

}  // namespace

Command SetupReplica(CLI::App& root) {
  CLI::App* group = root.add_subcommand("replica", "Replicas that sync from a repository, keep snapshots, forward");
  std::vector<Command> subs;
  {
    auto o = std::make_shared<ReplicaCmdOptions>();
    CLI::App* app = group->add_subcommand("init", "Make a replica directory (optionally seeded from a file or tape)");
    app->add_option("r", o->r, "Replica directory (must not exist)")->required();
    app->add_option("--from", o->from, "Upstream repository URL")->required();
    app->add_option("--seed", o->seed, "Start from this seed deltafile (carried in by hand)");
    app->add_option("--seed-archive", o->seed_archive, "Start from a ddloop archive: a tar file, pipe or tape");
    app->add_option("--forward", o->forwards, "Publish what this replica seals to this repository (repeatable)");
    app->add_option("--id", o->id, "This replica's name upstream (default: the host name)");
    AddRemoteOptions(app, &o->remote, false);
    AddReplicaOutput(app, o.get());
    subs.push_back({app, [o] { return RunReplicaInit(*o); }});
  }
  {
    auto o = std::make_shared<ReplicaCmdOptions>();
    o->remote.timeout = 600;
    CLI::App* app =
        group->add_subcommand("sync", "Pull, apply and seal what chains after the newest snapshot; forward");
    app->add_option("r", o->r, "Replica directory")->required();
    app->add_option("--watch", o->watch, "Keep syncing, every INTERVAL (30s, 5m, 1h)");
    app->add_option("--stall-timeout", o->remote.timeout,
                    "Seconds without progress before an attempt is abandoned and retried (default 600)")
        ->check(CLI::Range(1, 86400));
    app->add_option("--attempts", o->attempts, "Attempts after transient faults, with backoff (default 6)")
        ->check(CLI::Range(1, 1000));
    app->add_flag("--no-forward", o->no_forward, "Do not forward this time");
    app->add_option("-l,--level", o->level, "zstd level of forwarded deltas (default 3)")->check(CLI::Range(0, 19));
    app->add_option("--threads", o->threads, "Compression threads (default: the machine's cores)")
        ->check(CLI::Range(1, 256));
    AddRemoteOptions(app, &o->remote, true);
    AddTransferOptions(app, &o->transfer);
    subs.push_back({app, [o] { return RunReplicaSync(*o); }});
  }
  {
    auto o = std::make_shared<ReplicaCmdOptions>();
    CLI::App* app = group->add_subcommand("status", "Upstream, newest snapshot, lag, last sync, forwards");
    app->add_option("r", o->r, "Replica directory")->required();
    app->add_flag("--offline", o->offline, "Do not ask the upstream");
    AddRemoteOptions(app, &o->remote, false);
    AddReplicaOutput(app, o.get());
    subs.push_back({app, [o] { return RunReplicaStatus(*o); }});
  }
  {
    auto o = std::make_shared<ReplicaCmdOptions>();
    CLI::App* app = group->add_subcommand("list", "The snapshots a replica holds, oldest first");
    app->add_option("r", o->r, "Replica directory")->required();
    AddReplicaOutput(app, o.get());
    subs.push_back({app, [o] { return RunReplicaList(*o); }});
  }
  {
    auto o = std::make_shared<ReplicaCmdOptions>();
    CLI::App* app = group->add_subcommand("revert", "Go back to a snapshot: later ones are deleted");
    app->add_option("r", o->r, "Replica directory")->required();
    app->add_option("snapshot", o->snap, "Snapshot name, #id or UUID")->required();
    AddReplicaOutput(app, o.get());
    subs.push_back({app, [o] { return RunReplicaRevert(*o); }});
  }
  subs.push_back(SetupReplicaServe(group));  // cmd_replica_serve.cc
  return CommandGroup(group, subs);
}

}  // namespace ddl::cli
