// archive_source.h - what `restore -f SOURCE` reads front to back.
//
//   "-"                               standard input (FdStream)
//   a regular file                    through Env: a File read front to back
//   a FIFO, a tape, another device    read(2) on its descriptor (FdStream):
//                                     File does not model them
//   a terminal (stdin or a path)      rejected at once (kInvalidArgument)
//                                     instead of waiting for input
//
// Not thread-safe; one ArchiveSource per source.
#pragma once

#include <memory>
#include <string>

#include "deltafile/io.h"

namespace ddl {

class ArchiveSource {
 public:
  // Opens `path` (see above); a regular file through `env`.
  static Result<std::unique_ptr<ArchiveSource>> Open(Env* env, const std::string& path);
  ~ArchiveSource();
  ArchiveSource(const ArchiveSource&) = delete;
  ArchiveSource& operator=(const ArchiveSource&) = delete;

  // Owned by the source.
  Stream* stream() { return stream_.get(); }

 private:
  ArchiveSource() = default;
  int fd_ = -1;                 // a device or FIFO opened here
  std::unique_ptr<File> file_;  // a regular file
  std::unique_ptr<Stream> stream_;
};

}  // namespace ddl
