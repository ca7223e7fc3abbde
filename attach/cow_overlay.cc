// cow_overlay.cc - CowOverlay.
#include "attach/cow_overlay.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "deltafile/endian.h"

namespace ddl {

namespace {

constexpr char kMagic[8] = {'D', 'D', 'L', 'C', 'O', 'W', '1', '\0'};
constexpr uint64_t kPage = 4096;

Status Err(const std::string& path, const char* what) {
  return IOError(path + ": " + what + ": " + std::strerror(errno));
}

Status PWriteAll(int fd, const std::string& path, const void* p, size_t n, uint64_t off) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t r = ::pwrite(fd, c, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Err(path, "write failed");
    }
    c += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status PReadAll(int fd, const std::string& path, void* p, size_t n, uint64_t off) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::pread(fd, c, n, static_cast<off_t>(off));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Err(path, "read failed");
    }
    if (r == 0) {  // past EOF of a sparse file: zeros
      std::memset(c, 0, n);
      break;
    }
    c += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

}  // namespace

CowOverlay::~CowOverlay() {
  if (fd_ >= 0) ::close(fd_);
}

std::string CowOverlay::Trailer() const {
  std::string t(kPage, '\0');
  std::memcpy(&t[0], kMagic, 8);
  StoreLE64(&t[8], size_);
  std::memcpy(&t[16], identity_.data(), identity_.size());  // 48 bytes
  StoreLE64(&t[kPage - 8], Xxh64(t.data(), kPage - 8));
  return t;
}

Result<std::unique_ptr<CowOverlay>> CowOverlay::Open(const std::string& path, ChainReader* lower) {
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

  // A new scratch file is created O_EXCL; an existing one (to go on with
  // it) must be our own regular file, never reached through a link.
  c->fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (c->fd_ < 0 && errno == EEXIST) {
    c->fd_ = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (c->fd_ >= 0 && (::fstat(c->fd_, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
                        st.st_nlink != 1))
      return InvalidArgument(path + ": not a regular file of ours (owner, type or link count); refusing to use it");
  }
  if (c->fd_ < 0) return Err(path, errno == ELOOP ? "is a symbolic link; refusing" : "cannot open");
  off_t end = ::lseek(c->fd_, 0, SEEK_END);
  if (end < 0) return Err(path, "seek failed");
  if (end == 0) {  // new: sized, sparse, with an empty bitmap
    if (::ftruncate(c->fd_, static_cast<off_t>(c->trailer_off_)) != 0) return Err(path, "truncate failed");
    std::string t = c->Trailer();
    DDL_RETURN_IF_ERROR(PWriteAll(c->fd_, path, t.data(), t.size(), c->trailer_off_));
    if (::fsync(c->fd_) != 0) return Err(path, "fsync failed");
    return c;
  }
  if (static_cast<uint64_t>(end) != c->trailer_off_ + kPage)
    return Corruption(path + ": not a ddloop COW file for this chain (size " + std::to_string(end) + ")");
  std::string t(kPage, '\0');
  DDL_RETURN_IF_ERROR(PReadAll(c->fd_, path, &t[0], kPage, c->trailer_off_));
  if (std::memcmp(t.data(), kMagic, 8) != 0 || LoadLE64(&t[kPage - 8]) != Xxh64(t.data(), kPage - 8))
    return Corruption(path + ": not a ddloop COW file (bad trailer)");
  if (t != c->Trailer())
    return Status(Code::kWrongBase, path + ": is a COW file of another chain target; use a new file");
  std::vector<uint64_t> words(c->bits_.size());
  DDL_RETURN_IF_ERROR(PReadAll(c->fd_, path, words.data(), words.size() * 8, c->bitmap_off_));
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
      DDL_RETURN_IF_ERROR(PReadAll(fd_, path_, out + (pos - off), run_end - pos, pos));
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
      DDL_RETURN_IF_ERROR(PWriteAll(fd_, path_, in + (pos - off), whole_end - pos, pos));
      for (uint64_t k = b; k * kBlock < whole_end; k++) Mark(k);
      pos = whole_end;
      continue;
    }
    // A partial block: read it from wherever it lives, patch, write.
    DDL_RETURN_IF_ERROR(Read(bstart, block.data(), blen));
    std::memcpy(block.data() + (pos - bstart), in + (pos - off), stop - pos);
    DDL_RETURN_IF_ERROR(PWriteAll(fd_, path_, block.data(), blen, bstart));
    Mark(b);
    pos = stop;
  }
  return Status::Ok();
}

Status CowOverlay::Sync() {
  if (::fdatasync(fd_) != 0) return Err(path_, "fdatasync failed");
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
    DDL_RETURN_IF_ERROR(PWriteAll(fd_, path_, page.data(), kPage, bitmap_off_ + p * kPage));
  }
  if (::fdatasync(fd_) != 0) return Err(path_, "fdatasync failed");
  return Status::Ok();
}

}  // namespace ddl
