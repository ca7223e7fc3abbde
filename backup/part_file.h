// part_file.h - the file a pull downloads one delta into, in the
// directory of its final name.
//
// The resumable part is DIR/.NAME.CSUM.part. It is created new
// (OpenMode::kCreateNew) or reopened (OpenMode::kResume: a regular file of
// ours with one link, never a symbolic link), and an flock(LOCK_EX) on it
// is held until the download is renamed into place or given up, so the
// same user's next pull resumes it and a concurrent pull never writes into
// it. A pull that finds the part locked by another process, or something
// at its name that is not a file of ours, downloads into a private file
// instead (CreateTempFile: ".NAME.<16 random hex>.tmp"), which is not
// resumed and is removed on failure. Both pulls verify what they got
// before renaming it to DIR/NAME, so the second rename replaces the file
// with the same bytes.
//
// Uses the POSIX file system directly (flock); not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "deltafile/io.h"

namespace ddl {

class PartFile {
 public:
  // `part_path` is the resumable name, beside `final_path`.
  static Result<std::unique_ptr<PartFile>> Acquire(const std::string& final_path, const std::string& part_path);
  ~PartFile();
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  File* file() { return file_.get(); }
  const std::string& path() const { return path_; }
  // False for a private file (another pull holds the resumable one).
  bool resumable() const { return lock_fd_ >= 0; }

  // Leaves what arrived for a later resume (a private file is removed).
  void Keep();
  // Removes the file.
  void Discard();
  // Syncs the file, renames it to `final_path` and syncs the directory.
  Status Commit(const std::string& final_path);

 private:
  PartFile() = default;
  std::unique_ptr<File> file_;
  std::string path_;
  int lock_fd_ = -1;
  bool done_ = false;
};

}  // namespace ddl
