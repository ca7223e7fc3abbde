// io.h - all file access of the library goes through these interfaces.
//
// File is random-access (images, deltafiles being written or read at random),
// Stream is sequential input (a pipe, a tape, stdin, or a File read front to
// back), Env creates files and does the metadata operations that crash safety
// depends on (rename, directory sync). Implementations: Env::Posix() (this
// file's .cc), MemEnv and FaultInjectionEnv (io_memory.h) for tests.
//
// A File or Stream is used by one thread at a time unless its class says
// otherwise; PosixFile's ReadAt/WriteAt are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl {

class File {
 public:
  explicit File(std::string name) : name_(std::move(name)) {}
  virtual ~File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& name() const { return name_; }

  // Reads up to n bytes at off. *got < n only at end of file.
  virtual Status ReadAt(uint64_t off, void* buf, size_t n, size_t* got) = 0;
  virtual Status WriteAt(uint64_t off, const void* buf, size_t n) = 0;
  // Makes every completed write durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Result<uint64_t> Size() = 0;
  // Sets the size of a regular file; block devices refuse.
  virtual Status Truncate(uint64_t size) = 0;
  // Makes [off, off+len) read as zeros. Default: writes zeros.
  virtual Status ZeroRange(uint64_t off, uint64_t len);
  // Starts writing [off, off+len) back to the disk without waiting, so a
  // later Sync of a large file written front to back finds little left to
  // do. A hint: the default does nothing.
  virtual void StartWriteback(uint64_t off, uint64_t len) { (void)off, (void)len; }

  // The POSIX descriptor behind the file, or -1 (memory files), so a lock
  // can be taken on the very file that was opened (file_lock.h). Owned by
  // the File.
  virtual int Descriptor() const { return -1; }

  // Reads exactly n bytes or fails with kTruncated naming the file.
  Status ReadExact(uint64_t off, void* buf, size_t n);

 private:
  std::string name_;
};

class Stream {
 public:
  explicit Stream(std::string name) : name_(std::move(name)) {}
  virtual ~Stream() = default;
  const std::string& name() const { return name_; }
  // Reads up to n bytes; *got < n only at end of input.
  virtual Status Read(void* buf, size_t n, size_t* got) = 0;

 private:
  std::string name_;
};

// A lock taken by Env::LockFile on a small file, held until this object is
// deleted. The locked file is open read-write, so the holder can write into
// it who it is (for the messages of those it keeps out). Used by one thread.
class LockedFile {
 public:
  virtual ~LockedFile() = default;
  virtual File* file() = 0;
};

// Reads a File front to back from `start`.
class FileStream : public Stream {
 public:
  FileStream(File* f, uint64_t start = 0) : Stream(f->name()), f_(f), pos_(start) {}
  Status Read(void* buf, size_t n, size_t* got) override;

 private:
  File* f_;
  uint64_t pos_;
};

// Reads a file descriptor (a pipe, a FIFO, a tape, stdin). Does not own fd.
class FdStream : public Stream {
 public:
  FdStream(int fd, std::string name) : Stream(std::move(name)), fd_(fd) {}
  Status Read(void* buf, size_t n, size_t* got) override;

 private:
  int fd_;
};

enum class OpenMode {
  kRead,       // must exist
  kReadWrite,  // must exist
  // Read-write, created or truncated; a symbolic link at the path is refused
  // (O_NOFOLLOW). Only for names inside a directory ddloop owns and has
  // locked (a volume's files); anything else uses kCreateNew/CreateTempFile.
  kCreate,
  // Read-write, and the name must not exist: O_CREAT|O_EXCL|O_NOFOLLOW, mode
  // 0600. Fails with kExists if anything, a symbolic link included, is there.
  kCreateNew,
  // Read-write, must exist, must be a regular file owned by the caller and
  // not a symbolic link: reopening a part file or state file to resume it.
  kResume,
};

class Env {
 public:
  virtual ~Env() = default;
  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Atomically replaces `to` with `from`.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // Makes renames and creations in the directory holding `path` durable.
  virtual Status SyncDirOf(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // A value that changes whenever the file's contents may have changed
  // (regular files: device, inode, size, mtime). Empty when the kind of file
  // gives no such guarantee (block devices): then nothing may be trusted.
  virtual std::string Stamp(const std::string& path) = 0;
  // True for a block device.
  virtual bool IsBlockDevice(const std::string& path) = 0;
  // Creates a directory (its parent must exist); an existing one is an error.
  virtual Status MakeDir(const std::string& path) = 0;
  // The names (not paths) of the entries of a directory, without . and ..
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Opens `path` read-write, creating it (mode 0600) if missing, never
  // through a symbolic link, and locks it without waiting (LevelDB's
  // Env::LockFile): exclusive, or shared with other shared holders. kBusy,
  // naming the path, when someone else holds a conflicting lock. POSIX:
  // flock on the open file (other processes, and other opens in this one,
  // conflict); MemEnv: a table in the Env, so two holders in one test do.
  virtual Result<std::unique_ptr<LockedFile>> LockFile(const std::string& path, bool exclusive) = 0;

  // The process-wide POSIX environment. Never deleted.
  static Env* Posix();
};

// 16 random hex digits (getrandom), for names no one can guess.
std::string RandomHex();

// Creates a new, uniquely named file beside `target` (same directory, name
// ".BASENAME.<16 random hex digits>.tmp") with OpenMode::kCreateNew, so a
// file or link planted at a guessable name is never followed or reused.
// Sets *tmp_path to its path.
Result<std::unique_ptr<File>> CreateTempFile(Env* env, const std::string& target, std::string* tmp_path);

// Replaces `path` atomically with `data`: ReplaceFile (replace_file.h, which
// says how) with `data` as the whole contents.
Status WriteFileAtomic(Env* env, const std::string& path, const std::string& data);

// Reads a whole small file.
Result<std::string> ReadSmallFile(Env* env, const std::string& path, size_t max = 1 << 20);

}  // namespace ddl
