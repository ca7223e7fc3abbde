#include "backup/repository.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "backup/part_file.h"
#include "backup/repository_head.h"
#include "deltafile/hash.h"
#include "deltafile/hex.h"
#include "deltafile/reader.h"
#include "deltafile/text_record.h"
#include "deltafile/verify.h"

namespace ddl {

namespace {

// Catalog entries (deltafile/text_record.h). Entries were written without a
// checksum line, and still are: an older ddloop reading a repository would
// take the trailer for the entry's own "checksum" field and skip the entry.
// One with a trailer (a future writer) is read and checked.
const TextFormat& EntryFormat() {
  static const TextFormat f = [] {
    TextFormat t;
    t.magic = "ddloop-catalog 1";
    t.what = "catalog entry";
    t.max_bytes = 64 << 10;
    t.max_line = 4096;
    t.max_lines = 64;
    t.accept_no_checksum = true;
    t.write_checksum = false;
    return t;
  }();
  return f;
}
std::string EntryKey(const std::string& name) { return "catalog/" + name + ".entry"; }

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Feeds [0, size) of f to h.
Status HashFile(File* f, uint64_t size, Xxh64Stream* h) {
  std::vector<char> buf(4 << 20);
  for (uint64_t off = 0; off < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
    DDL_RETURN_IF_ERROR(f->ReadExact(off, buf.data(), n));
    h->Update(buf.data(), n);
    off += n;
  }
  return Status::Ok();
}

// The catalog's form of a whole-file checksum.
std::string ChecksumText(uint64_t digest) { return "xxh64:" + Hex64(digest); }

Result<std::string> FileChecksum(File* f, uint64_t size) {
  Xxh64Stream h;
  DDL_RETURN_IF_ERROR(HashFile(f, size, &h));
  return ChecksumText(h.Digest());
}

CatalogEntry EntryFor(const std::string& name, const Header& h, uint64_t size, const std::string& csum) {
  CatalogEntry e;
  e.name = name;
  e.object = "deltas/" + name + "." + csum.substr(6);
  e.size = size;
  e.checksum = csum;
  e.volume_uuid = h.volume_uuid.ToString();
  e.volume_size = h.volume_size;
  e.seed = h.seed();
  if (!e.seed) {
    e.base_snapshot = h.base.snapshot.ToString();
    e.base_fingerprint = h.base.fingerprint.Hex();
  }
  e.target_snapshot = h.target.snapshot.ToString();
  e.target_fingerprint = h.target.fingerprint.Hex();
  e.created_ns = h.create_time_ns;
  return e;
}

bool Chains(const CatalogEntry& next, const CatalogEntry& prev) {
  return !next.seed && next.base_snapshot == prev.target_snapshot && next.base_fingerprint == prev.target_fingerprint;
}

// Runs fn(i) for i in [0, n) on up to `jobs` threads.
void ForEach(size_t n, int jobs, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < n;) fn(i);
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs && size_t(j) < n; j++) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();
}

// Sums per-file progress into one figure for RepoOptions::progress.
class ProgressSum {
 public:
  ProgressSum(const RepoOptions& o, size_t files, uint64_t total) : o_(o), done_(files), total_(total) {}
  NetOptions For(size_t i) {
    NetOptions n = o_.net;
    if (o_.progress)
      n.progress = [this, i](uint64_t b) {
        std::lock_guard<std::mutex> l(mu_);
        sum_ += b - done_[i];
        done_[i] = b;
        o_.progress(sum_, total_);
      };
    return n;
  }

 private:
  const RepoOptions& o_;
  std::mutex mu_;
  std::vector<uint64_t> done_;
  uint64_t sum_ = 0, total_;
};

Status FirstError(const std::vector<FileResult>& r) {
  for (const FileResult& f : r)
    if (!f.error.ok()) return f.error;
  return Status::Ok();
}

// --- push ---

// Pushes one file; *out is its catalog entry (when Ok: in the catalog).
Status PushOne(Transport* t, const std::string& path, const RepoOptions& ro, const NetOptions& net, FileResult* r,
               CatalogEntry* out) {
  Env* env = Env::Posix();
  r->name = BaseName(path);
  DDL_RETURN_IF_ERROR(CheckDeltaName(r->name, path));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
  DDL_ASSIGN_OR_RETURN(r->size, f->Size());
  DDL_ASSIGN_OR_RETURN(std::string csum, FileChecksum(f.get(), r->size));
  CatalogEntry& e = *out;
  e = EntryFor(r->name, rr->header(), r->size, csum);
  if (ro.snapshot_name) e.target_name = ro.snapshot_name(path);
  if (ro.snapshot_time) e.target_created_ns = ro.snapshot_time(path);
  if (ro.base_entry && !e.seed) e.base_entry = ro.base_entry(path);

  Result<std::string> old = t->ReadSmall(EntryKey(e.name));
  if (old.ok()) {
    CatalogEntry o;
    DDL_RETURN_IF_ERROR(CatalogEntry::Decode(*old, t->Describe(EntryKey(e.name)), &o));
    if (o.checksum != e.checksum || o.size != e.size)
      return InvalidArgument(path + ": " + t->Describe(EntryKey(e.name)) +
                             " is a different delta of the same name (ddloop rm it first)");
    r->status = "skipped";
    return Status::Ok();
  }
  if (old.status().code() != Code::kNotFound) return old.status();

  Result<uint64_t> there = t->Size(e.object);
  if (!there.ok() && there.status().code() != Code::kNotFound) return there.status();
  if (!there.ok() || *there != e.size) {
    DDL_RETURN_IF_ERROR(t->Upload(e.object, f.get(), e.size, net, &r->stats));
  } else {
    r->stats.resumed_from = e.size;  // stored by an earlier run that stopped before its entry
  }
  DDL_ASSIGN_OR_RETURN(const std::string entry, e.Encode(t->Describe(EntryKey(e.name))));
  Status made = t->CreateSmall(EntryKey(e.name), entry);
  if (made.code() == Code::kExists) {  // another push got there first
    Result<std::string> now = t->ReadSmall(EntryKey(e.name));
    CatalogEntry o;
    if (now.ok() && CatalogEntry::Decode(*now, t->Describe(EntryKey(e.name)), &o).ok() && o.checksum == e.checksum &&
        o.size == e.size) {
      r->status = "transferred";  // the same delta, pushed twice at once
      return Status::Ok();
    }
    t->Remove(e.object);  // ours, now referenced by nothing
    return InvalidArgument(path + ": " + t->Describe(EntryKey(e.name)) +
                           " is a different delta of the same name, pushed meanwhile by another writer"
                           " (ddloop rm it first)");
  }
  DDL_RETURN_IF_ERROR(made);
  r->status = "transferred";
  return Status::Ok();
}

// --- pull ---

// The file a download writes into: hashes the bytes as they arrive front
// to back (the catalog checksum without a second pass) and starts their
// writeback every 32 MiB (so the final sync does not wait for the whole
// file). A server that restarts from 0 makes the hash unusable: then the
// caller reads the file again.
class DownloadSink : public File {
 public:
  DownloadSink(File* f, uint64_t have) : File(f->name()), f_(f), next_(have), hinted_(have) {}
  // A resumed download: the bytes already there come first.
  Status HashPrefix() { return HashFile(f_, next_, &h_); }
  // libcurl hands over 16 KiB at a time: gather 1 MiB per pwrite.
  Status WriteAt(uint64_t off, const void* buf, size_t n) override {
    if (off != next_) sequential_ = false;
    if (sequential_) {
      h_.Update(buf, n);
      next_ += n;
    }
    if (!pending_.empty() && off != pending_off_ + pending_.size()) DDL_RETURN_IF_ERROR(Flush());
    if (pending_.empty()) pending_off_ = off;
    const char* p = static_cast<const char*>(buf);
    pending_.insert(pending_.end(), p, p + n);
    if (pending_.size() >= kGather) DDL_RETURN_IF_ERROR(Flush());
    return Status::Ok();
  }
  // Writes what is gathered; call after the download, whatever its outcome.
  Status Flush() {
    if (pending_.empty()) return Status::Ok();
    Status s = f_->WriteAt(pending_off_, pending_.data(), pending_.size());
    uint64_t end = pending_off_ + pending_.size();
    pending_.clear();
    if (s.ok() && sequential_ && end - hinted_ >= (32u << 20)) {
      f_->StartWriteback(hinted_, end - hinted_);
      hinted_ = end;
    }
    return s;
  }
  Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) override {
    DDL_RETURN_IF_ERROR(Flush());
    return f_->ReadAt(off, buf, n, got);
  }
  Status Sync() override {
    DDL_RETURN_IF_ERROR(Flush());
    return f_->Sync();
  }
  Result<uint64_t> Size() override {
    DDL_RETURN_IF_ERROR(Flush());
    return f_->Size();
  }
  Status Truncate(uint64_t size) override {
    DDL_RETURN_IF_ERROR(Flush());
    sequential_ = false;
    return f_->Truncate(size);
  }
  // The checksum of [0, size) if every byte went through here in order.
  bool Checksum(uint64_t size, std::string* out) const {
    if (!sequential_ || next_ != size) return false;
    *out = ChecksumText(h_.Digest());
    return true;
  }

 private:
  static constexpr size_t kGather = 1 << 20;
  File* f_;
  Xxh64Stream h_;
  uint64_t next_, hinted_;
  bool sequential_ = true;
  std::vector<char> pending_;
  uint64_t pending_off_ = 0;
};

Status PullOne(Transport* t, const std::string& dir, const CatalogEntry& e, const NetOptions& net, FileResult* r) {
  Env* env = Env::Posix();
  r->name = e.name;
  r->size = e.size;
  const std::string url = t->Describe(e.object);
  DDL_RETURN_IF_ERROR(CheckDeltaName(e.name, t->Describe(EntryKey(e.name))));
  const std::string final_path = dir + "/" + e.name;
  // Ok and *there when DIR/NAME already is this delta.
  auto present = [&](bool* there) -> Status {
    *there = false;
    if (!env->Exists(final_path)) return Status::Ok();
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(final_path, OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    if (size == e.size) {
      DDL_ASSIGN_OR_RETURN(std::string csum, FileChecksum(f.get(), size));
      if (csum == e.checksum) {
        r->status = "skipped";
        *there = true;
        return Status::Ok();
      }
    }
    return InvalidArgument(final_path + ": exists and is not " + url + " (move it away to pull)");
  };
  bool there = false;
  DDL_RETURN_IF_ERROR(present(&there));
  if (there) return Status::Ok();
  const std::string part_name = dir + "/." + e.name + "." + e.checksum.substr(6) + ".part";
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<PartFile> part, PartFile::Acquire(final_path, part_name));
  auto discard = [&](const Status& why) {
    part->Discard();
    return why;
  };
  // A concurrent pull may have finished it meanwhile.
  Status again = present(&there);
  if (!again.ok() || there) return discard(again);
  File* f = part->file();
  DDL_ASSIGN_OR_RETURN(uint64_t have, f->Size());
  if (have > e.size) {
    DDL_RETURN_IF_ERROR(f->Truncate(0));
    have = 0;
  }
  DownloadSink sink(f, have);
  DDL_RETURN_IF_ERROR(sink.HashPrefix());
  if (have < e.size || e.size == 0) {
    Status got_it = t->Download(e.object, e.size, &sink, have, net, &r->stats);
    Status kept = sink.Flush();  // what arrived stays for the next resume
    if (got_it.code() == Code::kCorruption)
      return discard(Status(got_it.code(), got_it.message() + "; the download was discarded"));
    DDL_RETURN_IF_ERROR(got_it);
    DDL_RETURN_IF_ERROR(kept);
  } else {
    r->stats.resumed_from = have;
  }
  DDL_ASSIGN_OR_RETURN(uint64_t got, f->Size());
  if (got != e.size)
    return discard(Corruption(url + ": is " + std::to_string(got) + " bytes, the catalog says " +
                              std::to_string(e.size) + "; the download was discarded"));
  std::string csum;
  if (!sink.Checksum(got, &csum)) {
    DDL_ASSIGN_OR_RETURN(csum, FileChecksum(f, got));
  }
  if (csum != e.checksum)
    return discard(Corruption(url + ": checksum " + csum + " does not match the catalog's " + e.checksum +
                              "; the download was discarded"));
  VerifyOptions vo;
  VerifyReport rep;
  Status v = VerifyDelta(f, vo, &rep);
  if (!v.ok()) return discard(Status(v.code(), url + ": " + v.message() + "; the download was discarded"));
  CatalogEntry mine = EntryFor(e.name, rep.header, got, csum);
  if (mine.target_snapshot != e.target_snapshot || mine.target_fingerprint != e.target_fingerprint ||
      mine.base_fingerprint != e.base_fingerprint || mine.volume_uuid != e.volume_uuid)
    return discard(Corruption(url + ": its header does not match its catalog entry; the download was discarded"));
  DDL_RETURN_IF_ERROR(part->Commit(final_path));
  r->status = "transferred";
  return Status::Ok();
}

bool TargetIs(const CatalogEntry& e, const std::string& id) {
  if (id == e.name || id == e.target_snapshot || id == e.target_fingerprint) return true;
  if (id == e.target_snapshot + "/" + e.target_fingerprint.substr(0, 16)) return true;  // Identity::ToString
  return id.size() >= 8 && e.target_fingerprint.compare(0, id.size(), id) == 0;
}

// Entries that chain after `after`, breadth first.
Result<std::vector<CatalogEntry>> After(const std::vector<CatalogEntry>& all, const std::string& after,
                                        const std::string& url) {
  std::string id = after;
  CatalogEntry start;
  bool found = false;
  Env* env = Env::Posix();
  if (env->Exists(after)) {  // a local deltafile: chain after its target
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(after, OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
    start = EntryFor(BaseName(after), rr->header(), 0, "xxh64:0000000000000000");
    found = true;
  }
  for (const CatalogEntry& e : all) {
    if (!found && TargetIs(e, id)) {
      start = e;
      found = true;
    }
  }
  if (!found) return InvalidArgument(url + ": no delta has the target " + after);
  std::vector<CatalogEntry> out;
  std::vector<CatalogEntry> frontier = {start};
  std::set<std::string> seen;
  while (!frontier.empty()) {
    std::vector<CatalogEntry> next;
    for (const CatalogEntry& p : frontier)
      for (const CatalogEntry& e : all)
        if (Chains(e, p) && seen.insert(e.name).second) next.push_back(e);
    out.insert(out.end(), next.begin(), next.end());
    frontier = next;
  }
  return out;
}

// Moves HEAD along `pushed` (entries now in the catalog): from HEAD's
// target (with no HEAD, from the one pushed seed) to the end of the chain
// they continue. A fork (two deltas continuing one identity) stops it
// there: push does not choose between them.
Status MoveHeadAlong(Transport* t, const std::vector<const CatalogEntry*>& pushed) {
  Result<RepoHead> head = ReadHead(t);  // again: another writer may have moved it meanwhile
  if (!head.ok() && head.status().code() != Code::kNotFound) return head.status();
  std::string snapshot, fingerprint;
  if (head.ok()) {
    snapshot = head->target.snapshot.ToString();
    fingerprint = head->target.fingerprint.Hex();
  }
  const CatalogEntry* last = nullptr;
  for (size_t steps = 0; steps < pushed.size(); steps++) {  // bounded: a cycle ends
    const CatalogEntry* next = nullptr;
    int found = 0;
    for (const CatalogEntry* e : pushed) {
      const bool continues = (head.ok() || last)
                                 ? !e->seed && e->base_snapshot == snapshot && e->base_fingerprint == fingerprint
                                 : e->seed;
      if (continues && found++ == 0) next = e;
    }
    if (found != 1) break;
    last = next;
    snapshot = last->target_snapshot;
    fingerprint = last->target_fingerprint;
  }
  return last ? MoveHead(t, *last) : Status::Ok();
}

}  // namespace

Status CheckDeltaName(const std::string& name, const std::string& what) {
  // Names go into URLs and file names unchanged: keep them plain.
  bool ok = !name.empty() && name[0] != '.' && name.size() <= 200;
  for (unsigned char ch : name) ok = ok && (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '+');
  if (!ok)
    return InvalidArgument(what +
                           ": a delta's name may hold only letters, digits, '.', '_', '-', '+' and not start with '.'");
  return Status::Ok();
}

Result<std::string> CatalogEntry::Encode(const std::string& what) const {
  TextWriter w(EntryFormat());
  w.Add("name", name);
  w.Add("object", object);
  w.AddU64("size", size);
  w.Add("checksum", checksum);
  w.Add("volume_uuid", volume_uuid);
  w.AddU64("volume_size", volume_size);
  w.Add("kind", seed ? "seed" : "incremental");
  if (!seed) {
    w.Add("base_snapshot", base_snapshot);
    w.Add("base_fingerprint", base_fingerprint);
  }
  w.Add("target_snapshot", target_snapshot);
  w.Add("target_fingerprint", target_fingerprint);
  w.AddU64("created_ns", created_ns);
  if (!target_name.empty()) w.Add("target_name", target_name);
  if (target_created_ns != 0) w.AddU64("target_created_ns", target_created_ns);
  if (!base_entry.empty()) w.Add("base_entry", base_entry);
  return w.Finish(what);
}

Status CatalogEntry::Decode(const std::string& text, const std::string& what, CatalogEntry* e) {
  *e = CatalogEntry();
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(text, what, EntryFormat()));
  DDL_RETURN_IF_ERROR(r.GetString("name", &e->name));
  DDL_RETURN_IF_ERROR(r.GetString("object", &e->object));
  DDL_RETURN_IF_ERROR(r.GetU64("size", &e->size));
  DDL_RETURN_IF_ERROR(r.GetString("checksum", &e->checksum));
  DDL_RETURN_IF_ERROR(r.GetString("volume_uuid", &e->volume_uuid));
  std::string kind;
  DDL_RETURN_IF_ERROR(r.GetString("kind", &kind));
  e->seed = kind == "seed";
  if (r.Has("base_snapshot")) DDL_RETURN_IF_ERROR(r.GetString("base_snapshot", &e->base_snapshot));
  if (r.Has("base_fingerprint")) DDL_RETURN_IF_ERROR(r.GetString("base_fingerprint", &e->base_fingerprint));
  DDL_RETURN_IF_ERROR(r.GetString("target_snapshot", &e->target_snapshot));
  DDL_RETURN_IF_ERROR(r.GetString("target_fingerprint", &e->target_fingerprint));
  if (r.Has("volume_size")) DDL_RETURN_IF_ERROR(r.GetU64("volume_size", &e->volume_size));
  if (r.Has("created_ns")) DDL_RETURN_IF_ERROR(r.GetU64("created_ns", &e->created_ns));
  if (r.Has("target_name")) DDL_RETURN_IF_ERROR(r.GetString("target_name", &e->target_name));
  if (r.Has("target_created_ns")) DDL_RETURN_IF_ERROR(r.GetU64("target_created_ns", &e->target_created_ns));
  if (r.Has("base_entry")) {
    DDL_RETURN_IF_ERROR(r.GetString("base_entry", &e->base_entry));
    if (!CheckDeltaName(e->base_entry, what).ok()) return r.Error("base_entry is not a delta's name");
  }
  // Any other key is a newer writer's: ignored, so old readers read new entries.
  uint64_t digest = 0;
  if (e->checksum.size() != 22 || e->checksum.compare(0, 6, "xxh64:") != 0 ||
      !ParseHex64(std::string_view(e->checksum).substr(6), &digest))
    return r.Error("bad checksum field");
  if (e->object.compare(0, 7, "deltas/") != 0 || e->object.find("..") != std::string::npos)
    return r.Error("names a bad object");
  return Status::Ok();
}

Status PushDeltas(Transport* t, const std::vector<std::string>& files, const RepoOptions& o,
                  std::vector<FileResult>* out) {
  out->assign(files.size(), FileResult());
  std::set<std::string> names;
  uint64_t total = 0;
  std::string first;  // the first readable file, and its volume
  Uuid volume;
  for (size_t i = 0; i < files.size(); i++) {
    (*out)[i].name = BaseName(files[i]);
    if (!names.insert((*out)[i].name).second) return InvalidArgument(files[i] + ": two deltas named " + (*out)[i].name);
    Result<std::unique_ptr<File>> f = Env::Posix()->Open(files[i], OpenMode::kRead);
    if (!f.ok()) return f.status();
    Result<uint64_t> size = (*f)->Size();
    if (size.ok()) total += *size;
    // One volume per push, checked before anything is uploaded; a file
    // that is no deltafile is PushOne's to report.
    Result<std::unique_ptr<RandomReader>> rr = RandomReader::Open(f->get());
    if (!rr.ok()) continue;
    const Uuid v = (*rr)->header().volume_uuid;
    if (first.empty()) {
      first = files[i];
      volume = v;
    } else if (v != volume) {
      return Status(Code::kForeign, files[i] + ": a delta of volume " + v.ToString() + ", but " + first +
                                        " is of volume " + volume.ToString() + " (push one volume at a time)");
    }
  }
  if (!first.empty()) DDL_RETURN_IF_ERROR(EnsureManifest(t, volume, ""));
  // A damaged HEAD stops the push before anything is stored (it could
  // not be moved after).
  Result<RepoHead> head = ReadHead(t);
  if (!head.ok() && head.status().code() != Code::kNotFound) return head.status();
  ProgressSum sum(o, files.size(), total);
  std::vector<CatalogEntry> entries(files.size());
  ForEach(files.size(), o.jobs, [&](size_t i) {
    FileResult& r = (*out)[i];
    r.error = PushOne(t, files[i], o, sum.For(i), &r, &entries[i]);
    if (!r.error.ok()) r.status = "failed";
  });
  std::vector<const CatalogEntry*> stored;
  for (size_t i = 0; i < files.size(); i++)
    if ((*out)[i].error.ok()) stored.push_back(&entries[i]);
  // HEAD moves along what did get stored; a failed file's error is the one
  // reported (a server gone down fails the HEAD read too).
  Status moved = MoveHeadAlong(t, stored);
  Status failed = FirstError(*out);
  return failed.ok() ? moved : failed;
}

Result<Listing> ListDeltas(Transport* t) {
  Result<std::vector<std::string>> listed = t->List("catalog");
  if (!listed.ok() && listed.status().code() != Code::kNotFound) return listed.status();
  std::vector<std::string> names;
  const std::string suffix = ".entry";
  if (listed.ok())
    for (const std::string& n : *listed)
      if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        names.push_back(n);
  std::sort(names.begin(), names.end());
  if (names.empty()) {  // an empty repository, or none at all? (kNotFound)
    DDL_RETURN_IF_ERROR(ReadManifest(t).status());
  }
  std::vector<CatalogEntry> all;
  Status first_bad;
  size_t bad = 0;
  for (const std::string& n : names) {
    const std::string what = t->Describe("catalog/" + n);
    Result<std::string> text = t->ReadSmall("catalog/" + n);
    if (!text.ok() && text.status().code() == Code::kNotFound) continue;  // removed meanwhile
    Status s = text.status();
    if (!text.ok() && s.code() != Code::kCorruption) return s;
    CatalogEntry e;
    if (s.ok()) s = CatalogEntry::Decode(*text, what, &e);
    if (s.ok() && e.name + suffix != n) s = Corruption(what + ": names the delta '" + e.name.substr(0, 80) + "'");
    if (s.ok()) s = CheckDeltaName(e.name, what);
    if (!s.ok()) {
      if (bad++ == 0) first_bad = Status(Code::kCorruption, s.message());
      continue;
    }
    all.push_back(e);
  }
  Listing listing;
  if (bad > 0)
    listing.skipped =
        Status(Code::kCorruption, first_bad.message() + "; skipped" +
                                      (bad > 1 ? " with " + std::to_string(bad - 1) + " more unreadable entries" : "") +
                                      ", " + std::to_string(all.size()) + " listed");
  // Chain order: roots (nothing in the repository is their base) first,
  // each followed depth-first by what chains after it.
  std::vector<CatalogEntry> out;
  std::set<std::string> seen;
  std::function<void(const CatalogEntry&)> walk = [&](const CatalogEntry& e) {
    if (!seen.insert(e.name).second) return;
    out.push_back(e);
    for (const CatalogEntry& n : all)
      if (Chains(n, e)) walk(n);
  };
  for (const CatalogEntry& e : all) {
    bool root = std::none_of(all.begin(), all.end(), [&](const CatalogEntry& p) { return Chains(e, p); });
    if (root) walk(e);
  }
  for (const CatalogEntry& e : all) walk(e);  // cycles
  listing.entries = std::move(out);
  return listing;
}

Status PullDeltas(Transport* t, const std::string& dir, const std::string& after, const RepoOptions& o,
                  std::vector<FileResult>* out) {
  Env* env = Env::Posix();
  DDL_ASSIGN_OR_RETURN(Listing listing, ListDeltas(t));
  std::vector<CatalogEntry> want = std::move(listing.entries);
  if (!env->Exists(dir)) {  // once the repository answered
    Status made = env->MakeDir(dir);
    if (!made.ok() && !env->Exists(dir)) return made;  // (a concurrent pull may have made it)
  }
  if (!after.empty()) {
    DDL_ASSIGN_OR_RETURN(want, After(want, after, t->Describe("")));
  }
  DDL_RETURN_IF_ERROR(PullEntries(t, dir, want, o, out));
  return listing.skipped;
}

Status PullEntries(Transport* t, const std::string& dir, const std::vector<CatalogEntry>& want, const RepoOptions& o,
                   std::vector<FileResult>* out) {
  out->assign(want.size(), FileResult());
  uint64_t total = 0;
  for (const CatalogEntry& e : want) total += e.size;
  ProgressSum sum(o, want.size(), total);
  ForEach(want.size(), o.jobs, [&](size_t i) {
    FileResult& r = (*out)[i];
    r.error = PullOne(t, dir, want[i], sum.For(i), &r);
    if (!r.error.ok()) r.status = "failed";
  });
  return FirstError(*out);
}

Result<CatalogEntry> ReadCatalogEntry(Transport* t, const std::string& name) {
  DDL_RETURN_IF_ERROR(CheckDeltaName(name, t->Describe(EntryKey(name))));
  DDL_ASSIGN_OR_RETURN(std::string text, t->ReadSmall(EntryKey(name)));
  CatalogEntry e;
  DDL_RETURN_IF_ERROR(CatalogEntry::Decode(text, t->Describe(EntryKey(name)), &e));
  return e;
}

Status RemoveDeltas(Transport* t, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    DDL_RETURN_IF_ERROR(CheckDeltaName(n, n));
    Result<std::string> text = t->ReadSmall(EntryKey(n));
    if (!text.ok() && text.status().code() == Code::kNotFound)
      return Status(Code::kNotFound, t->Describe(EntryKey(n)) + ": no delta named " + n);
    if (!text.ok()) return text.status();
    CatalogEntry e;
    DDL_RETURN_IF_ERROR(CatalogEntry::Decode(*text, t->Describe(EntryKey(n)), &e));
    DDL_RETURN_IF_ERROR(t->Remove(EntryKey(n)));
    DDL_RETURN_IF_ERROR(t->Remove(e.object));
  }
  return Status::Ok();
}

}  // namespace ddl
