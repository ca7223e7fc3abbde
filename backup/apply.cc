// apply.cc - ApplyChain and ApplyStream (see apply.h for the protocol).
#include "backup/apply.h"

#include <memory>

#include "backup/apply_state.h"
#include "deltafile/chain.h"
#include "deltafile/chain_order.h"
#include "deltafile/file_lock.h"
#include "deltafile/image_fingerprint.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"

namespace ddl {

namespace {

std::string Short(const Fingerprint& fp) { return fp.Hex().substr(0, 16); }

Status WrongBase(const std::string& m) { return Status(Code::kWrongBase, m); }

// Where in a chain of headers the image stands.
struct Position {
  size_t start = 0;             // first delta to apply
  uint64_t resume_records = 0;  // records of deltas[start] already durable
  bool resuming = false;
  bool from_state = false;  // base established by the recorded state
};

class Applier {
 public:
  Applier(const std::string& image, const ApplyOptions& o, ApplyReport* report)
      : image_(image), o_(o), env_(o.env ? o.env : Env::Posix()), report_(report) {
    state_path_ = o.state_path.empty() ? DefaultStatePath(env_, image) : o.state_path;
    image_id_ = EscapeStateName(ImageIdentity(env_, image));
  }

  Status OpenImage(const Header& h0) {
    const bool seed = h0.seed();
    bool created = false;
    if (!env_->Exists(image_) && seed) {
      // Never truncate: a concurrent apply may have created it a moment ago.
      auto f = env_->Open(image_, OpenMode::kCreateNew);
      if (f.ok()) {
        img_ = std::move(*f);
        created = true;
      } else if (f.status().code() != Code::kExists) {
        return f.status();
      }
    }
    if (!created) {
      DDL_ASSIGN_OR_RETURN(img_, env_->Open(image_, OpenMode::kReadWrite));
    }
    // The image is ours alone until the state says where it stands, and no
    // mount or attach serves it as a base meanwhile (file_lock.h). Taken
    // before the state is read, so what we read cannot change under us, and
    // on the file just opened, so what we lock is what we write.
    if (o_.after_open_for_test) o_.after_open_for_test();
    if (img_->Descriptor() >= 0) {
      DDL_ASSIGN_OR_RETURN(lock_, FileLock::AcquireOpen(image_, img_->Descriptor(), LockKind::kExclusive));
    } else {
      // An Env without descriptors (the memory env of a test): its own table.
      DDL_ASSIGN_OR_RETURN(env_lock_, env_->LockFile(image_, true));
    }
    if (created) {
      DDL_RETURN_IF_ERROR(img_->Sync());
      DDL_RETURN_IF_ERROR(env_->SyncDirOf(image_));
    }
    DDL_ASSIGN_OR_RETURN(uint64_t size, img_->Size());
    if (size != h0.volume_size && !(seed && size < h0.volume_size && !env_->IsBlockDevice(image_)))
      return WrongBase(image_ + ": size " + std::to_string(size) + " bytes, but the delta is for a volume of " +
                       std::to_string(h0.volume_size) + " bytes");
    image_size_ = size;
    return LoadApplyState(env_, state_path_, &state_, &have_state_);
  }

  // Finds where the image stands relative to the chain, without writing.
  Status Locate(const std::vector<Header>& hs, Position* pos) {
    const Header& h0 = hs[0];
    // A state recorded for another image (one --state given to two images)
    // says nothing about this one.
    const bool same_image = !have_state_ || state_.image.empty() || state_.image == image_id_;
    if (have_state_ && state_.phase == ApplyState::Phase::kApplying && !same_image)
      return WrongBase(image_ + ": its state file " + state_path_ + " holds a pending apply onto another image (" +
                       state_.image + "); give each image its own --state");
    if (have_state_ && !same_image) {
      Note(state_path_ + " is the state of another image (" + state_.image + "); not trusted");
    }
    if (have_state_ && state_.phase == ApplyState::Phase::kApplying) {
      for (size_t k = 0; k < hs.size(); k++) {
        if (hs[k].header_csum == state_.delta_csum && hs[k].target == state_.target) {
          pos->start = k;
          pos->resume_records = state_.done_records;
          pos->resuming = true;
          Note("resuming the interrupted apply of delta " + std::to_string(k + 1) + " at record " +
               std::to_string(state_.done_records));
          report_->base_check = "resumed (" + state_path_ + ")";
          return Status::Ok();
        }
      }
      return WrongBase(image_ + ": an interrupted apply to " + state_.target.ToString() + " is pending (" +
                       state_path_ + "); re-run that apply to finish it");
    }
    bool comparable =
        have_state_ && same_image && state_.volume_size == h0.volume_size && state_.chunk_shift == h0.chunk_shift;
    bool trusted = false;
    if (comparable && o_.check == BaseCheck::kQuick) trusted = true;
    if (comparable && o_.check == BaseCheck::kAuto && !state_.stamp.empty() && state_.stamp == env_->Stamp(image_))
      trusted = true;
    Fingerprint cur;
    if (trusted) {
      cur = state_.current.fingerprint;
      report_->base_check = "recorded state (" + state_path_ + ")";
    } else {
      ScanOptions so;
      so.threads = o_.threads;
      if (o_.progress) so.progress = [&](uint64_t d, uint64_t t) { o_.progress("checking " + image_, d, t); };
      DDL_ASSIGN_OR_RETURN(cur, ImageFingerprint(img_.get(), h0.chunk_shift, h0.volume_size, so));
      report_->base_check = "full fingerprint of " + image_;
    }
    pos->from_state = trusted;
    current_ = cur;
    if (cur == h0.base.fingerprint) {
      pos->start = 0;
      return Status::Ok();
    }
    for (size_t k = 0; k < hs.size(); k++) {
      if (cur == hs[k].target.fingerprint) {
        pos->start = k + 1;
        Note("the image already holds the target of delta " + std::to_string(k + 1) + "; skipping " +
             std::to_string(k + 1) + " delta(s)");
        report_->skipped = static_cast<int>(k + 1);
        return Status::Ok();
      }
    }
    return WrongBase(image_ + ": is not the base of the delta (image fingerprint " + Short(cur) + ", delta base " +
                     Short(h0.base.fingerprint) + (trusted ? ", from the recorded state" : "") + ")");
  }

  // The quick check: the base hashes of every chunk the delta changes.
  Status CheckChangedChunks(const RandomReader& rr) {
    Status s = CheckChangedChunksBase(img_.get(), rr);
    if (s.code() == Code::kWrongBase)
      return WrongBase(s.message() + "; the image changed since its state was recorded (use --check full)");
    return s;
  }

  Status ExtendForSeed(const Header& h0) {
    if (image_size_ < h0.volume_size) {
      DDL_RETURN_IF_ERROR(img_->Truncate(h0.volume_size));
      image_size_ = h0.volume_size;
    }
    return Status::Ok();
  }

  // Applies the delta `sr` reads (header already read), skipping the first
  // `skip` records (durable from an interrupted run).
  Status ApplyOne(StreamReader* sr, const std::string& name, uint64_t total, uint64_t skip) {
    const Header& h = sr->header();
    ApplyState st;
    st.phase = ApplyState::Phase::kApplying;
    st.image = image_id_;
    st.volume_uuid = h.volume_uuid;
    st.volume_size = h.volume_size;
    st.chunk_shift = h.chunk_shift;
    st.current = h.base;
    st.target = h.target;
    st.delta_csum = h.header_csum;
    st.done_records = skip;
    DDL_RETURN_IF_ERROR(SaveApplyState(env_, state_path_, st));

    Record rec;
    uint64_t seq = 0, since_checkpoint = 0;
    for (;;) {
      bool more = false;
      DDL_RETURN_IF_ERROR(sr->Next(&rec, &more));
      if (!more) break;
      if (seq >= skip) {
        if (rec.h.type == DDL_REC_DATA) {
          DDL_RETURN_IF_ERROR(img_->WriteAt(rec.h.offset, rec.data.data(), rec.data.size()));
        } else {
          DDL_RETURN_IF_ERROR(img_->ZeroRange(rec.h.offset, rec.h.length));
        }
        report_->bytes_written += rec.h.length;
        since_checkpoint += rec.h.length;
      }
      seq++;
      if (since_checkpoint >= o_.checkpoint_bytes) {
        DDL_RETURN_IF_ERROR(img_->Sync());
        st.done_records = seq;
        DDL_RETURN_IF_ERROR(SaveApplyState(env_, state_path_, st));
        since_checkpoint = 0;
      }
      if (o_.progress) o_.progress(name, sr->position(), total);
    }
    // Everything verified, including that the records produce the target
    // fingerprint; until then the state keeps saying "applying".
    DDL_RETURN_IF_ERROR(sr->Finish());
    DDL_RETURN_IF_ERROR(img_->Sync());
    ApplyState at;
    at.image = image_id_;
    at.volume_uuid = h.volume_uuid;
    at.volume_size = h.volume_size;
    at.chunk_shift = h.chunk_shift;
    at.current = h.target;
    at.stamp = env_->Stamp(image_);
    DDL_RETURN_IF_ERROR(SaveApplyState(env_, state_path_, at));
    report_->applied++;
    report_->result = h.target;
    if (o_.progress) o_.progress(name, total, total);
    return Status::Ok();
  }

  void Note(const std::string& line) {
    if (o_.note) o_.note(line);
  }

  const ApplyOptions& options() const { return o_; }
  Env* env() const { return env_; }
  const Fingerprint& current() const { return current_; }

 private:
  std::string image_;
  ApplyOptions o_;
  Env* env_;
  ApplyReport* report_;
  std::string state_path_;
  std::string image_id_;                  // EscapeStateName(ImageIdentity(image_))
  std::unique_ptr<FileLock> lock_;        // held until the Applier goes
  std::unique_ptr<LockedFile> env_lock_;  // the same, in an Env without descriptors
  std::unique_ptr<File> img_;
  uint64_t image_size_ = 0;
  ApplyState state_;
  bool have_state_ = false;
  Fingerprint current_;
};

}  // namespace

Status ApplyChain(const std::vector<std::string>& deltas, const std::string& image, const ApplyOptions& o,
                  ApplyReport* report) {
  if (deltas.empty()) return InvalidArgument("no deltafile given");
  Env* env = o.env ? o.env : Env::Posix();
  std::vector<std::unique_ptr<File>> files;
  std::vector<std::unique_ptr<RandomReader>> readers;
  std::vector<Header> hs;
  for (const std::string& d : deltas) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(d, OpenMode::kRead));
    // Verified in full (every record, the file checksum, the fingerprint
    // arithmetic) before a byte of the image is touched.
    VerifyOptions vo;
    if (o.progress) vo.progress = [&](uint64_t dn, uint64_t t) { o.progress("verifying " + d, dn, t); };
    VerifyReport vr;
    DDL_RETURN_IF_ERROR(VerifyDelta(f.get(), vo, &vr));
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
    hs.push_back(rr->header());
    files.push_back(std::move(f));
    readers.push_back(std::move(rr));
  }
  // Given in any order: chain order, from the headers, before anything is
  // written (chain_order.h).
  {
    DDL_ASSIGN_OR_RETURN(ChainOrder ord, OrderChain(hs, deltas));
    std::vector<std::unique_ptr<File>> f2;
    std::vector<std::unique_ptr<RandomReader>> r2;
    std::vector<Header> h2;
    for (size_t i : ord.order) {
      f2.push_back(std::move(files[i]));
      r2.push_back(std::move(readers[i]));
      h2.push_back(hs[i]);
      report->order.push_back(deltas[i]);
    }
    files = std::move(f2);
    readers = std::move(r2);
    hs = std::move(h2);
  }
  const std::vector<std::string>& names = report->order;

  Applier a(image, o, report);
  DDL_RETURN_IF_ERROR(a.OpenImage(hs[0]));
  Position pos;
  DDL_RETURN_IF_ERROR(a.Locate(hs, &pos));
  report->resumed = pos.resuming;
  report->start = pos.start;
  if (pos.start >= hs.size()) {
    report->result = hs.back().target;
    return Status::Ok();
  }
  if (pos.from_state && !pos.resuming) {
    DDL_RETURN_IF_ERROR(a.CheckChangedChunks(*readers[pos.start]));
    report->base_check += " and the base hashes of the changed chunks";
  }
  if (hs[0].seed() && pos.start == 0) DDL_RETURN_IF_ERROR(a.ExtendForSeed(hs[0]));
  for (size_t k = pos.start; k < hs.size(); k++) {
    FileStream in(files[k].get());
    StreamReader sr(&in);
    DDL_RETURN_IF_ERROR(sr.ReadHeader());
    DDL_ASSIGN_OR_RETURN(uint64_t total, files[k]->Size());
    DDL_RETURN_IF_ERROR(a.ApplyOne(&sr, names[k], total, k == pos.start ? pos.resume_records : 0));
  }
  return Status::Ok();
}

Status ApplyStream(Stream* in, const std::string& image, const ApplyOptions& o, ApplyReport* report) {
  StreamReader sr(in);
  DDL_RETURN_IF_ERROR(sr.ReadHeader());
  report->order = {in->name()};
  std::vector<Header> hs{sr.header()};
  Applier a(image, o, report);
  DDL_RETURN_IF_ERROR(a.OpenImage(hs[0]));
  Position pos;
  DDL_RETURN_IF_ERROR(a.Locate(hs, &pos));
  report->resumed = pos.resuming;
  report->start = pos.start;
  if (pos.start >= 1) {
    report->result = hs[0].target;
    return Status::Ok();
  }
  if (hs[0].seed()) DDL_RETURN_IF_ERROR(a.ExtendForSeed(hs[0]));
  return a.ApplyOne(&sr, in->name(), 0, pos.resume_records);
}

}  // namespace ddl
