// cow_overlay.cc - CowOverlay.
#include "attach/cow_overlay.h"

#include <cstddef>
#include <cstring>

#include "deltafile/endian.h"
#include "snapcore/volume_disk_format.h"

namespace ddl {

namespace {

// The file's layout is ddloop-volume(5), "The COW file"; the trailer is
// struct ddl_cow_trailer (snapcore/volume_disk_format.h).
constexpr char kMagic[DDL_COW_MAGIC_LEN] = DDL_COW_MAGIC;
constexpr uint64_t kPage = DDL_COW_BLOCK_SIZE;
constexpr uint64_t kTrailer = DDL_COW_TRAILER_SIZE;
constexpr size_t kSizeAt = offsetof(struct ddl_cow_trailer, volume_size);
constexpr size_t kTargetAt = offsetof(struct ddl_cow_trailer, target);
constexpr size_t kCsumAt = offsetof(struct ddl_cow_trailer, csum);
static_assert(sizeof(struct ddl_identity) == DDL_UUID_SIZE + DDL_FINGERPRINT_SIZE,
              "the trailer holds the identity whole");

}  // namespace

CowOverlay::~CowOverlay() = default;

// Reads [off, off+n) of the scratch file; past its end (it is sparse up to
// the trailer, so only a damaged file ends early) reads zeros.
Status CowOverlay::ReadFile(uint64_t off, void* buf, size_t n) {
  size_t got = 0;
  DDL_RETURN_IF_ERROR(file_->ReadAt(off, buf, n, &got));
  if (got < n) std::memset(static_cast<char*>(buf) + got, 0, n - got);
  return Status::Ok();
}

std::string CowOverlay::Trailer() const {
  std::string t(kTrailer, '\0');
  std::memcpy(&t[0], kMagic, sizeof kMagic);
  StoreLE64(&t[kSizeAt], size_);
  std::memcpy(&t[kTargetAt], identity_.data(), identity_.size());  // sizeof(ddl_identity)
  StoreLE64(&t[kCsumAt], Xxh64(t.data(), kCsumAt));
  return t;
}

Result<std::unique_ptr<CowOverlay>> CowOverlay::Open(const std::string& path, ChainReader* lower, Env* env) {
  std::unique_ptr<CowOverlay> c(new CowOverlay);
  c->path_ = path;
  c->lower_ = lower;
  c->size_ = lower->size();
  const Identity& id = lower->target_header().target;
  c->identity_.assign(reinterpret_cast<const char*>(id.snapshot.b), DDL_UUID_SIZE);
  uint8_t fp[DDL_FINGERPRINT_SIZE];
  id.fingerprint.Encode(fp);
  c->identity_.append(reinterpret_cast<const char*>(fp), sizeof fp);
  const uint64_t blocks = (c->size_ + kBlock - 1) / kBlock;
  c->bits_ = std::vector<std::atomic<uint64_t>>((blocks + 63) / 64);
  c->bitmap_off_ = (c->size_ + kPage - 1) / kPage * kPage;
  const uint64_t bitmap_bytes = (c->bits_.size() * 8 + kPage - 1) / kPage * kPage;
  c->trailer_off_ = c->bitmap_off_ + bitmap_bytes;

  // A new (or empty) file: sized, sparse, with an empty bitmap and the
  // trailer, synced, and its name too: else a crash could lose the file with
  // every block a later Sync() promised.
  auto init = [&]() {
    std::string t = c->Trailer();
    Status s = c->file_->Truncate(c->trailer_off_);
    if (s.ok()) s = c->file_->WriteAt(c->trailer_off_, t.data(), t.size());
    if (s.ok()) s = c->file_->Sync();
    if (s.ok()) s = env->SyncDirOf(path);
    return s;
  };
  // A new scratch file is created O_EXCL; an existing one (to go on with
  // it) must be our own regular file, never reached through a link.
  auto created = env->Open(path, OpenMode::kCreateNew);
  if (created.ok()) {
    c->file_ = std::move(created.value());
    Status s = init();
    if (!s.ok()) {
      c->file_.reset();
      (void)env->Remove(path);  // best effort: a half-made file would be refused on reopen
      return s;
    }
    return c;
  }
  if (created.status().code() != Code::kExists) return created.status();
  auto existing = env->Open(path, OpenMode::kResume);
  if (!existing.ok()) {
    // Env's refusal of a file not ours keeps this file's exit code (2).
    if (existing.status().message().find("not a regular file of ours") == std::string::npos) return existing.status();
    return InvalidArgument(path + ": not a regular file of ours (owner, type or link count); refusing to use it");
  }
  c->file_ = std::move(existing.value());
  DDL_ASSIGN_OR_RETURN(uint64_t end, c->file_->Size());
  if (end == 0) {  // an empty file of ours: made into a new one
    DDL_RETURN_IF_ERROR(init());
    return c;
  }
  if (end != c->trailer_off_ + kTrailer)
    return Corruption(path + ": not a ddloop COW file for this chain (size " + std::to_string(end) + ")");
  std::string t(kTrailer, '\0');
  DDL_RETURN_IF_ERROR(c->ReadFile(c->trailer_off_, &t[0], kTrailer));
  if (std::memcmp(t.data(), kMagic, sizeof kMagic) != 0 || LoadLE64(&t[kCsumAt]) != Xxh64(t.data(), kCsumAt))
    return Corruption(path + ": not a ddloop COW file (bad trailer)");
  if (t != c->Trailer())
    return Status(Code::kWrongBase, path + ": is a COW file of another chain target; use a new file");
  std::vector<uint64_t> words(c->bits_.size());
  DDL_RETURN_IF_ERROR(c->ReadFile(c->bitmap_off_, words.data(), words.size() * 8));
  uint64_t n = 0;
  for (size_t i = 0; i < words.size(); i++) {
    uint64_t w = LoadLE64(&words[i]);
    c->bits_[i].store(w);
    n += static_cast<uint64_t>(__builtin_popcountll(w));
  }
  c->written_ = n;
  return c;
}

bool CowOverlay::Has(uint64_t block) const {
  return (bits_[block / 64].load(std::memory_order_acquire) >> (block % 64)) & 1;
}

void CowOverlay::Mark(uint64_t block) {
  uint64_t bit = uint64_t(1) << (block % 64);
  uint64_t old = bits_[block / 64].fetch_or(bit, std::memory_order_release);
  if (!(old & bit)) {
    written_++;
    std::lock_guard<std::mutex> l(dirty_mu_);
    dirty_pages_.insert((block / 64) * 8 / kPage);
  }
}

Status CowOverlay::Read(uint64_t off, void* buf, size_t n) {
  if (off >= size_) return Status::Ok();
  if (n > size_ - off) n = static_cast<size_t>(size_ - off);
  uint8_t* out = static_cast<uint8_t*>(buf);
  uint64_t pos = off;
  const uint64_t end = off + n;
  while (pos < end) {
    // A run of blocks from one source.
    const bool cow = Has(pos / kBlock);
    uint64_t run_end = std::min(end, (pos / kBlock + 1) * kBlock);
    while (run_end < end && Has(run_end / kBlock) == cow) run_end = std::min(end, run_end + kBlock);
    if (cow) {
      DDL_RETURN_IF_ERROR(ReadFile(pos, out + (pos - off), run_end - pos));
    } else {
      DDL_RETURN_IF_ERROR(lower_->Read(pos, out + (pos - off), run_end - pos));
    }
    pos = run_end;
  }
  return Status::Ok();
}

Status CowOverlay::Write(uint64_t off, const void* buf, size_t n) {
  if (off > size_ || n > size_ - off) return InvalidArgument(path_ + ": write past the end of the volume");
  std::lock_guard<std::mutex> l(write_mu_);
  const uint8_t* in = static_cast<const uint8_t*>(buf);
  std::vector<uint8_t> block(kBlock);
  uint64_t pos = off;
  const uint64_t end = off + n;
  while (pos < end) {
    const uint64_t b = pos / kBlock, bstart = b * kBlock;
    const uint64_t blen = std::min(kBlock, size_ - bstart);
    const uint64_t stop = std::min(end, bstart + blen);
    if (pos == bstart && stop == bstart + blen) {
      // Whole blocks: write straight through, as many as are whole.
      uint64_t whole_end = bstart + (end - bstart) / kBlock * kBlock;
      if (whole_end <= bstart) whole_end = stop;
      DDL_RETURN_IF_ERROR(file_->WriteAt(pos, in + (pos - off), whole_end - pos));
      for (uint64_t k = b; k * kBlock < whole_end; k++) Mark(k);
      pos = whole_end;
      continue;
    }
    // A partial block: read it from wherever it lives, patch, write.
    DDL_RETURN_IF_ERROR(Read(bstart, block.data(), blen));
    std::memcpy(block.data() + (pos - bstart), in + (pos - off), stop - pos);
    DDL_RETURN_IF_ERROR(file_->WriteAt(bstart, block.data(), blen));
    Mark(b);
    pos = stop;
  }
  return Status::Ok();
}

Status CowOverlay::Sync() {
  DDL_RETURN_IF_ERROR(file_->Sync());
  std::set<uint64_t> pages;
  {
    std::lock_guard<std::mutex> l(dirty_mu_);
    pages.swap(dirty_pages_);
  }
  if (pages.empty()) return Status::Ok();
  std::vector<uint8_t> page(kPage);
  for (uint64_t p : pages) {
    const size_t first = p * kPage / 8;
    const size_t count = std::min<size_t>(kPage / 8, bits_.size() - first);
    std::memset(page.data(), 0, page.size());
    for (size_t i = 0; i < count; i++) StoreLE64(page.data() + 8 * i, bits_[first + i].load());
    DDL_RETURN_IF_ERROR(file_->WriteAt(bitmap_off_ + p * kPage, page.data(), kPage));
  }
  DDL_RETURN_IF_ERROR(file_->Sync());
  return Status::Ok();
}

}  // namespace ddl
