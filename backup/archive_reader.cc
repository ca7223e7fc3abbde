// archive_reader.cc - RestoreArchives over libarchive's tar reader.
#include "backup/archive_reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "backup/apply_state.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"

namespace ddl {

namespace {

// Bytes asked of the source per read: at least the largest tape block.
constexpr size_t kArchiveReadBuffer = size_t(1) << 20;

struct ReadContext {
  Stream* in;
  std::vector<uint8_t> buf;
  Status status;
};

la_ssize_t SourceRead(struct archive* a, void* ud, const void** out) {
  auto* c = static_cast<ReadContext*>(ud);
  size_t got = 0;
  Status s = c->in->Read(c->buf.data(), c->buf.size(), &got);
  if (!s.ok()) {
    c->status = s;
    archive_set_error(a, EIO, "%s", s.message().c_str());
    return -1;
  }
  *out = c->buf.data();
  return static_cast<la_ssize_t>(got);
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

// libarchive's complaint as a Status: truncation, or damage.
Status ArchiveError(struct archive* a, const ReadContext& ctx, const std::string& where) {
  if (!ctx.status.ok()) return ctx.status.Prefix(where);
  const char* e = archive_error_string(a);
  std::string m = e ? e : "unreadable";
  if (m.find("runcated") != std::string::npos || m.find("nexpected end") != std::string::npos)
    return Truncated(where + ": truncated archive (" + m + ")");
  return Corruption(where + ": damaged archive (" + m + ")");
}

// One member's data as a Stream: reads archive_read_data up to its end,
// optionally copying every byte to `tee` (an extraction). Remembers its
// first and last bytes so header and footer can be checked against the
// catalog, and whether an error came from the archive (FATAL) rather than
// from the deltafile (FAILED).
class MemberStream : public Stream {
 public:
  MemberStream(struct archive* a, const ReadContext* ctx, const std::string& source, const CatalogMember& m, File* tee,
               const std::function<void(const std::string&, uint64_t, uint64_t)>& progress)
      : Stream(source + ": " + m.name), a_(a), ctx_(ctx), m_(m), tee_(tee), progress_(progress) {}

  Status Read(void* buf, size_t n, size_t* got) override {
    auto* p = static_cast<uint8_t*>(buf);
    *got = 0;
    while (*got < n && replay_ < prefix_.size()) p[(*got)++] = prefix_[replay_++];
    while (*got < n) {
      la_ssize_t r = archive_read_data(a_, p + *got, n - *got);
      if (r == 0) break;
      if (r < 0) {
        archive_failed_ = true;
        archive_status_ = ArchiveError(a_, *ctx_, name());
        return IOError("archive: " + archive_status_.message());
      }
      if (tee_ != nullptr) {
        Status s = tee_->WriteAt(consumed_, p + *got, static_cast<size_t>(r));
        if (!s.ok()) {
          archive_failed_ = true;  // the disk, not the deltafile: stop
          archive_status_ = s;
          return s;
        }
      }
      KeepTail(p + *got, static_cast<size_t>(r));
      consumed_ += static_cast<uint64_t>(r);
      *got += static_cast<size_t>(r);
      if (progress_) progress_(m_.name, consumed_, m_.size);
    }
    return Status::Ok();
  }

  // Reads the first n bytes; later Reads return them again.
  Status Peek(size_t n) {
    std::vector<uint8_t> head(n);
    size_t got = 0;
    DDL_RETURN_IF_ERROR(Read(head.data(), n, &got));
    head.resize(got);
    prefix_ = std::move(head);
    replay_ = 0;
    if (got < n) return Truncated(name() + ": ends after " + std::to_string(got) + " bytes");
    return Status::Ok();
  }
  const std::vector<uint8_t>& prefix() const { return prefix_; }

  // Reads (and tees) whatever the consumer left.
  Status Drain() {
    std::vector<uint8_t> b(1 << 20);
    size_t got = 0;
    do {
      DDL_RETURN_IF_ERROR(Read(b.data(), b.size(), &got));
    } while (got == b.size());
    return Status::Ok();
  }

  bool complete() const { return consumed_ == m_.size; }
  bool archive_failed() const { return archive_failed_; }
  const Status& archive_status() const { return archive_status_; }
  // The footer, when the whole member was read.
  Status TailFooter(Footer* f) const {
    if (!complete() || tail_.size() < DDL_FOOTER_SIZE) return Truncated(name() + ": no footer");
    return DecodeFooter(tail_.data(), f).Prefix(name());
  }

 private:
  void KeepTail(const uint8_t* p, size_t n) {
    if (n >= DDL_FOOTER_SIZE) {
      tail_.assign(p + n - DDL_FOOTER_SIZE, p + n);
    } else {
      tail_.insert(tail_.end(), p, p + n);
      if (tail_.size() > DDL_FOOTER_SIZE) tail_.erase(tail_.begin(), tail_.end() - DDL_FOOTER_SIZE);
    }
  }

  struct archive* a_;
  const ReadContext* ctx_;
  const CatalogMember& m_;
  File* tee_;
  const std::function<void(const std::string&, uint64_t, uint64_t)>& progress_;
  std::vector<uint8_t> prefix_;
  size_t replay_ = 0;
  std::vector<uint8_t> tail_;
  uint64_t consumed_ = 0;
  bool archive_failed_ = false;
  Status archive_status_;
};

const char* Kind(struct archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return "a hard link";
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return nullptr;
    case AE_IFLNK: return "a symbolic link";
    case AE_IFDIR: return "a directory";
    case AE_IFCHR:
    case AE_IFBLK: return "a device node";
    case AE_IFIFO: return "a FIFO";
    default: return "not a regular file";
  }
}

class Restorer {
 public:
  Restorer(const RestoreOptions& o, RestoreReport* r) : o_(o), env_(o.env ? o.env : Env::Posix()), r_(r) {}

  Status Source(Stream* in);
  Status Finish() {
    if (open_set_ && !ListOnly())
      return Truncated("set " + set_.set.ToString() + " is incomplete: archive " + std::to_string(set_.number + 1) +
                       " of " + std::to_string(set_.count) + " (" + set_.next_archive + ") is missing");
    return Status::Ok();
  }

 private:
  bool ListOnly() const { return !o_.verify && o_.extract_dir.empty() && o_.apply_image.empty(); }
  Status CheckOrder(const std::string& source, const Catalog& c);
  Status Member(struct archive* a, const ReadContext& ctx, const std::string& source, const Catalog& c, size_t i);
  bool ImagePast(const Catalog& c, size_t i);
  Status VerifyOrExtract(MemberStream* ms, const CatalogMember& m);
  Status ApplyMember(MemberStream* ms, const CatalogMember& m, std::string* action);

  const RestoreOptions& o_;
  Env* env_;
  RestoreReport* r_;
  bool open_set_ = false;  // a split set whose later archives are still to come
  Catalog set_;            // the last catalog read
  Identity last_target_;   // of the last member of the set so far
  bool apply_stopped_ = false;
};

Status Restorer::CheckOrder(const std::string& source, const Catalog& c) {
  if (ListOnly()) return Status::Ok();  // any archive may be listed on its own
  const std::string what = source + ": archive " + std::to_string(c.number) + " of " + std::to_string(c.count) +
                           " of set " + c.set.ToString();
  if (open_set_) {
    if (c.set != set_.set || c.number != set_.number + 1)
      return Status(Code::kBrokenChain, what + " is out of order: expected archive " + std::to_string(set_.number + 1) +
                                            " of set " + set_.set.ToString() + " (" + set_.next_archive + ")");
    if (c.members[0].base != last_target_)
      return Status(Code::kBrokenChain, what + ": " + c.members[0].name + " does not follow the previous archive");
  } else if (c.number != 1) {
    return Status(Code::kBrokenChain,
                  what + " is out of order: a restore starts with archive 1 (" + c.first_archive + ")");
  }
  return Status::Ok();
}

Status Restorer::Source(Stream* in) {
  const std::string source = in->name();
  std::unique_ptr<struct archive, ArchiveFree> a(archive_read_new());
  if (!a) return IOError(source + ": libarchive: out of memory");
  ReadContext ctx{in, std::vector<uint8_t>(kArchiveReadBuffer), Status::Ok()};
  archive_read_support_format_tar(a.get());
  archive_read_set_format_option(a.get(), "tar", "read_concatenated_archives", "1");
  if (archive_read_open(a.get(), &ctx, nullptr, SourceRead, nullptr) != ARCHIVE_OK) {
    if (!ctx.status.ok()) return ctx.status.Prefix(source);
    const char* m = archive_error_string(a.get());
    return Corruption(source + ": not a ddloop archive (" + (m ? m : "unreadable") + ")");
  }

  Catalog cat;
  size_t next = 0;  // index in cat.members of the member expected next
  bool in_archive = false;
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (!in_archive && r_->catalogs.empty() && ctx.status.ok()) {
        const char* m = archive_error_string(a.get());
        return Corruption(source + ": not a ddloop archive (" + (m ? m : "unreadable") + ")");
      }
      return ArchiveError(a.get(), ctx, source);
    }
    const char* pn = archive_entry_pathname(e);
    const std::string name = pn ? pn : "";
    if (const char* kind = Kind(e)) return Corruption(source + ": member '" + name + "' is " + kind + "; refused");

    if (name == kCatalogName) {
      if (in_archive && next < cat.members.size())
        return Truncated(source + ": archive " + std::to_string(cat.number) + " ends after " + std::to_string(next) +
                         " of its " + std::to_string(cat.members.size()) + " deltafiles (" + cat.members[next].name +
                         " is missing)");
      if (!archive_entry_size_is_set(e) || archive_entry_size(e) <= 0 ||
          static_cast<uint64_t>(archive_entry_size(e)) > kCatalogMax)
        return Corruption(source + ": catalog size out of range");
      std::string text(static_cast<size_t>(archive_entry_size(e)), '\0');
      la_ssize_t got = archive_read_data(a.get(), &text[0], text.size());
      if (got < 0) return ArchiveError(a.get(), ctx, source);
      if (static_cast<size_t>(got) != text.size()) return Truncated(source + ": the catalog is cut short");
      DDL_ASSIGN_OR_RETURN(cat, Catalog::Decode(text, source));
      DDL_RETURN_IF_ERROR(CheckOrder(source, cat));
      set_ = cat;
      open_set_ = cat.number < cat.count;
      in_archive = true;
      next = 0;
      r_->catalogs.emplace_back(source, cat);
      if (o_.on_catalog) o_.on_catalog(source, cat);
      continue;
    }
    if (!in_archive)
      return Corruption(source + ": not a ddloop archive: its first member is '" + name + "', not " + kCatalogName);
    if (!SafeMemberName(name)) return Corruption(source + ": unsafe member name '" + name + "'; refused");
    if (next >= cat.members.size())
      return Corruption(source + ": member " + name + " is not in the catalog of archive " +
                        std::to_string(cat.number));
    const CatalogMember& m = cat.members[next];
    if (name != m.name)
      return Corruption(source + ": member " + name + " where the catalog lists " + m.name + "; refused");
    if (!archive_entry_size_is_set(e) || static_cast<uint64_t>(archive_entry_size(e)) != m.size)
      return Corruption(source + ": member " + name + " is " + std::to_string(archive_entry_size(e)) +
                        " bytes but the catalog says " + std::to_string(m.size) + "; refused");
    DDL_RETURN_IF_ERROR(Member(a.get(), ctx, source, cat, next));
    last_target_ = m.target;
    next++;
  }
  if (!ctx.status.ok()) return ctx.status.Prefix(source);
  if (!in_archive) return Corruption(source + ": not a ddloop archive (no " + std::string(kCatalogName) + ")");
  if (next < cat.members.size())
    return Truncated(source + ": truncated archive: it ends after " + std::to_string(next) + " of the " +
                     std::to_string(cat.members.size()) + " deltafiles of archive " + std::to_string(cat.number) +
                     " (" + cat.members[next].name + " is missing)");
  return Status::Ok();
}

// Reads the whole member through StreamReader: every record, the index,
// the file checksum, the fingerprint arithmetic; then compares what was
// read with the catalog.
Status Restorer::VerifyOrExtract(MemberStream* ms, const CatalogMember& m) {
  StreamReader sr(ms);
  DDL_RETURN_IF_ERROR(sr.ReadHeader());
  std::string diff = MemberMismatch(m, sr.header(), nullptr);
  if (!diff.empty()) return Corruption(ms->name() + ": " + diff);
  Record rec;
  for (bool more = true; more;) DDL_RETURN_IF_ERROR(sr.Next(&rec, &more));
  DDL_RETURN_IF_ERROR(sr.Finish());
  diff = MemberMismatch(m, sr.header(), &sr.footer());
  if (!diff.empty()) return Corruption(ms->name() + ": " + diff);
  return Status::Ok();
}

Status Restorer::ApplyMember(MemberStream* ms, const CatalogMember& m, std::string* action) {
  DDL_RETURN_IF_ERROR(ms->Peek(DDL_HEADER_SIZE));
  Header h;
  DDL_RETURN_IF_ERROR(DecodeHeader(ms->prefix().data(), &h).Prefix(ms->name()));
  std::string diff = MemberMismatch(m, h, nullptr);
  if (!diff.empty()) return Corruption(ms->name() + ": " + diff);
  ApplyReport rep;
  DDL_RETURN_IF_ERROR(ApplyStream(ms, o_.apply_image, o_.apply, &rep));
  r_->apply.applied += rep.applied;
  r_->apply.skipped += rep.skipped;
  r_->apply.resumed = r_->apply.resumed || rep.resumed;
  r_->apply.bytes_written += rep.bytes_written;
  r_->apply.result = rep.result;
  if (r_->apply.base_check.empty()) r_->apply.base_check = rep.base_check;
  if (ms->complete()) {
    Footer f;
    DDL_RETURN_IF_ERROR(ms->TailFooter(&f));
    diff = MemberMismatch(m, h, &f);
    if (!diff.empty()) return Corruption(ms->name() + ": " + diff);
    *action = "applied";
  } else {
    *action = "already applied";  // the image holds its target; the rest is not read by apply
  }
  return Status::Ok();
}

// True when the image's apply state says it is already past member i:
// it holds the base of a later member, or a later member's apply is
// pending. Then member i is not applied (re-running a restore after an
// interruption resumes where it stopped); the next apply still checks the
// image's base in full.
bool Restorer::ImagePast(const Catalog& c, size_t i) {
  const std::string path = o_.apply.state_path.empty() ? DefaultStatePath(env_, o_.apply_image) : o_.apply.state_path;
  ApplyState st;
  bool found = false;
  if (!LoadApplyState(env_, path, &st, &found).ok() || !found) return false;
  for (size_t j = i + 1; j < c.members.size(); j++) {
    if (st.phase == ApplyState::Phase::kAt && st.current == c.members[j].base) return true;
    if (st.phase == ApplyState::Phase::kApplying && st.delta_csum == c.members[j].header_csum) return true;
  }
  return false;
}

Status Restorer::Member(struct archive* a, const ReadContext& ctx, const std::string& source, const Catalog& c,
                        size_t i) {
  const CatalogMember& m = c.members[i];
  MemberResult res;
  res.source = source;
  res.name = m.name;
  res.size = m.size;
  const bool past = !o_.apply_image.empty() && !apply_stopped_ && ImagePast(c, i);
  const bool apply = !o_.apply_image.empty() && !apply_stopped_ && !past;
  const bool extract = !o_.extract_dir.empty();
  if (ListOnly() || (past && !o_.verify && !extract)) {
    if (archive_read_data_skip(a) != ARCHIVE_OK) return ArchiveError(a, ctx, source);
    res.action = past ? "already applied" : "listed";
    r_->members.push_back(res);
    if (o_.on_member) o_.on_member(res);
    return Status::Ok();
  }

  std::unique_ptr<File> tmp;
  std::string tmp_path, final_path;
  if (extract) {
    final_path = o_.extract_dir + "/" + m.name;
    // A new, uniquely named file (O_EXCL|O_NOFOLLOW): nothing planted in the
    // directory is followed, truncated or reused.
    DDL_ASSIGN_OR_RETURN(tmp, CreateTempFile(env_, final_path, &tmp_path));
  }
  MemberStream ms(a, &ctx, source, m, tmp.get(), o_.progress);
  Status s;
  if (apply) {
    s = ApplyMember(&ms, m, &res.action);
    if (s.ok() && extract && !ms.complete()) {
      s = ms.Drain();  // the image had it already: still extract it, verified from the copy
      if (s.ok()) {
        VerifyReport vr;
        s = VerifyDelta(tmp.get(), VerifyOptions(), &vr);
      }
    }
    if (!s.ok()) apply_stopped_ = true;
  } else {
    s = VerifyOrExtract(&ms, m);
    res.action = extract ? "extracted" : "verified";
    if (past)
      res.action += " (already applied)";
    else if (!o_.apply_image.empty())
      res.action += " (not applied)";
  }
  if (s.ok() && extract) {
    s = tmp->Sync();
    if (s.ok()) s = env_->Rename(tmp_path, final_path);
    if (s.ok()) s = env_->SyncDirOf(final_path);
    if (!s.ok()) {
      env_->Remove(tmp_path);
      return s;  // the disk: FATAL
    }
    if (apply) res.action += ", extracted";
  }
  if (!s.ok()) {
    tmp.reset();
    if (extract) env_->Remove(tmp_path);
    if (ms.archive_failed()) return ms.archive_status();
    res.grade = Grade::kFailed;
    res.status = s;
    res.action = "failed";
    r_->failed++;
    if (archive_read_data_skip(a) != ARCHIVE_OK) return ArchiveError(a, ctx, source);
  }
  r_->members.push_back(res);
  if (o_.on_member) o_.on_member(res);
  return Status::Ok();
}

}  // namespace

Status RestoreArchives(const std::vector<Stream*>& sources, const RestoreOptions& o, RestoreReport* report) {
  Restorer r(o, report);
  for (Stream* in : sources) DDL_RETURN_IF_ERROR(r.Source(in));
  DDL_RETURN_IF_ERROR(r.Finish());
  if (report->failed == 0) return Status::Ok();
  for (const MemberResult& m : report->members) {
    if (m.grade != Grade::kFailed) continue;
    std::string more;
    if (report->failed > 1)
      more = " (and " + std::to_string(report->failed - 1) + " more of " + std::to_string(report->members.size()) +
             " deltafiles failed)";
    return Status(m.status.code(), m.status.message() + more);
  }
  return Status::Ok();
}

}  // namespace ddl
