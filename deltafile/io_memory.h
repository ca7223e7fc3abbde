// io_memory.h - in-memory Env for tests, and a fault-injecting one that
// simulates a crash (LevelDB's fault_injection_test is the model).
//
// MemEnv keeps every file as bytes in memory. FaultInjectionEnv also keeps
// the last synced contents of each file and the directory entries as of the
// last SyncDirOf of each directory: after CrashAfter(n) the n-th mutating
// call and every later call fail with kIOError ("injected crash"), and
// DropUnsyncedData() rolls every file back to what was last synced and every
// directory back to its last sync, as a power cut would: a file created or
// renamed into place since then vanishes (a rename is undone), and one
// removed since then comes back.
// LockFile locks in a table of the Env: two holders in one test conflict as
// two processes would; DropUnsyncedData leaves locks alone (a crash ends the
// process that held them: the test deletes its LockedFile objects).
// Both are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "deltafile/io.h"

namespace ddl {

struct MemFileData {
  std::vector<uint8_t> data;
  std::vector<uint8_t> synced;
  uint64_t version = 0;  // bumped by every change, for Stamp()
};

class MemEnv : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  // Makes the entries of the directory holding `path` durable.
  Status SyncDirOf(const std::string& path) override;
  bool Exists(const std::string& path) override;
  std::string Stamp(const std::string& path) override;
  bool IsBlockDevice(const std::string&) override { return false; }
  // Directories are implicit: MakeDir only ticks; ListDir lists the files
  // whose path is dir + "/" + name.
  Status MakeDir(const std::string&) override { return Tick(); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Result<std::unique_ptr<LockedFile>> LockFile(const std::string& path, bool exclusive) override;
  // Drops one hold of `path` (called by the LockedFile).
  void Unlock(const std::string& path, bool exclusive);

  // Direct access for tests.
  void Put(const std::string& path, std::vector<uint8_t> bytes);
  std::vector<uint8_t> Get(const std::string& path);

  // Called before every mutating operation; the fault env fails here.
  virtual Status Tick() { return Status::Ok(); }

 protected:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemFileData>> files_;
  // The directory entries as of each directory's last SyncDirOf (and Put).
  std::map<std::string, std::shared_ptr<MemFileData>> durable_;

 private:
  std::mutex lock_mu_;
  std::map<std::string, int> locks_;  // path -> -1: exclusive, n > 0: n shared holders
};

class FaultInjectionEnv : public MemEnv {
 public:
  // The n-th mutating call from now (1-based) and all after it fail.
  void CrashAfter(uint64_t n);
  // Rolls back unsynced data and lets calls succeed again.
  void DropUnsyncedData();
  bool crashed() const { return crashed_; }
  uint64_t ticks() const { return ticks_; }
  Status Tick() override;

 private:
  uint64_t ticks_ = 0;
  uint64_t crash_at_ = UINT64_MAX;
  bool crashed_ = false;
};

}  // namespace ddl
