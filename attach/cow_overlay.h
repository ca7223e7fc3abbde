// cow_overlay.h - a writable scratch overlay over a read-only chain, like
// qemu's snapshot mode: writes go to a sparse file, never to the base or the
// deltafiles, so a filesystem with a dirty journal can be mounted
// read-write, or fsck run, without harm.
//
// The scratch file holds the volume's blocks at their own offsets (sparse),
// then, past the volume, a bitmap of the 4 KiB blocks written, and a 4 KiB
// trailer naming the chain target it belongs to (identity, size, checksum).
// The trailer is written once, when the file is created, and the file and
// its directory entry are synced before Open returns. Sync() makes written
// data durable, then the bitmap pages it dirtied, so after a crash every
// block whose write was synced reads back, and a block written since reads
// either as before or as written, never anything else. Reopening the file
// over the same chain continues where it stopped; over another chain it is
// refused. All file access goes through an Env (deltafile/io.h), so the
// crash promise is tested under FaultInjectionEnv. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "deltafile/chain.h"
#include "deltafile/io.h"

namespace ddl {

class CowOverlay {
 public:
  static constexpr uint64_t kBlock = 4096;

  // Opens or creates `path` for the volume `lower` reads, through `env`
  // (a new file: OpenMode::kCreateNew; an existing one: OpenMode::kResume).
  // lower and env must outlive it.
  static Result<std::unique_ptr<CowOverlay>> Open(const std::string& path, ChainReader* lower, Env* env = Env::Posix());
  ~CowOverlay();

  Status Read(uint64_t off, void* buf, size_t n);
  Status Write(uint64_t off, const void* buf, size_t n);
  Status Sync();
  uint64_t blocks_written() const { return written_.load(); }

 private:
  CowOverlay() = default;
  bool Has(uint64_t block) const;
  void Mark(uint64_t block);
  Status WriteBlocks(uint64_t off, const uint8_t* p, size_t n);
  std::string Trailer() const;

  Status ReadFile(uint64_t off, void* buf, size_t n);

  std::unique_ptr<File> file_;
  std::string path_;
  ChainReader* lower_ = nullptr;
  uint64_t size_ = 0;
  uint64_t bitmap_off_ = 0;  // where the bitmap starts in the file
  uint64_t trailer_off_ = 0;
  std::string identity_;
  std::vector<std::atomic<uint64_t>> bits_;
  std::mutex write_mu_;  // serializes writes (read-modify-write of partial blocks)
  std::mutex dirty_mu_;
  std::set<uint64_t> dirty_pages_;  // bitmap pages to write at the next Sync
  std::atomic<uint64_t> written_{0};
};

}  // namespace ddl
