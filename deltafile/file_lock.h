// file_lock.h - advisory whole-file locks (flock) between ddloop processes.
//
// Who locks what:
//   apply           LOCK_EX on the image for its whole run (before its state
//                   is read, until the state says where the image stands).
//   mount, attach   LOCK_SH on the base for as long as they serve it: the
//                   FUSE server holds the descriptor; the kernel driver is
//                   handed the descriptor (it keeps a reference to the open
//                   file, and a flock lives as long as the open file does,
//                   so the lock lasts until the device is removed).
// So an apply never writes a base that something serves, and two applies
// never write one image. A lock is taken without waiting: a conflict is
// Code::kBusy, naming the file and, when it can be found, who holds it.
//
// Regular files: the lock is on the inode, so every path, symbolic link or
// hard link of one file meets the same lock. Block devices: a device node is
// an inode of its own (mknod can make another one), so the lock is taken on
// the canonical node of the device, /dev/<kernel name> (see LockNodeOf); an
// exclusive lock of a block device also opens it with O_EXCL, the kernel's
// own claim on the device, which refuses a mounted device and any other
// exclusive opener whatever node they use.
//
// POSIX only: images and devices need the canonical node and O_EXCL, which
// Env does not model. Lock files of our own (a volume's VOL/lock) use
// Env::LockFile instead, so the memory env sees their conflicts.
// A FileLock is not copyable; it is used by one thread.
#pragma once

#include <memory>
#include <string>

#include "deltafile/status.h"

namespace ddl {

enum class LockKind { kShared, kExclusive };

class FileLock {
 public:
  // Opens `path` read-only (a block device: through LockNodeOf) and takes the
  // lock without waiting. kBusy when another process holds a conflicting
  // lock, or (exclusive, block device) the kernel reports the device in use.
  static Result<std::unique_ptr<FileLock>> Acquire(const std::string& path, LockKind kind);

  // Locks what `fd` (the caller's descriptor, opened from `path`) is open
  // on, so the object locked is the object used even if `path` was renamed
  // or replaced after it was opened. A regular file: the lock is taken on
  // fd's own open file, through a duplicate descriptor (it lasts until fd
  // and the duplicate are both closed). A block device: as Acquire, on the
  // canonical node, then checked to be the device fd is open on (else
  // kIOError "changed while being opened"). kBusy as Acquire.
  static Result<std::unique_ptr<FileLock>> AcquireOpen(const std::string& path, int fd, LockKind kind);

  // Closes the descriptor. The lock ends when the last reference to the open
  // file goes (a child after fork, or the kernel driver, may keep it).
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // The locked descriptor (from Acquire: read-only), e.g. to hand to the
  // kernel driver.
  int fd() const { return fd_; }
  // The node that was opened and locked.
  const std::string& node() const { return node_; }

 private:
  FileLock(int fd, std::string node) : fd_(fd), node_(std::move(node)) {}
  int fd_;
  std::string node_;
};

// The node whose inode carries the lock of `path`: for a block device, the
// node /dev/<kernel name> (or /dev/block/MAJOR:MINOR) when it is a block
// device with the same device number, else `path` itself.
std::string LockNodeOf(const std::string& path);

// Who holds a lock on `path` or has it open, for messages: "pid N (CMDLINE)",
// "no process has it open (a kernel ddloop device may: see ddloop list)",
// or "" when it cannot be told. Reads /proc; bounded work.
std::string LockHolderOf(const std::string& path);

}  // namespace ddl
