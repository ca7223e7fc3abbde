// output_target.h - where a command's `-o OUT` goes, decided before any
// work is done, so that an output path never destroys what it names.
//
//   "-", or a name for the same file as standard output   stream to fd 1
//   (/dev/stdout, /proc/self/fd/1, /dev/fd/1)
//   a FIFO, character device, block device or socket       stream into it
//   (also through a symbolic link; the link stays)
//   a regular file or a missing name                       ReplaceFile
//   (deltafile/replace_file.h, temp removed on SIGINT/TERM/HUP)
//   (through a symbolic link: the file it resolves to)
//   a terminal                                             rejected
//   a directory                                            rejected
//
// A stream is written once, front to back, from its current position (a
// block device: from offset 0) and never resized or renamed; only regular
// files are ever replaced. Not thread-safe; one OutputTarget per output.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "deltafile/io.h"

namespace ddl::cli {

class OutputTarget {
 public:
  // Classifies `out` and, for a stream, opens it for writing (a FIFO waits
  // here for its reader). `what` names the data in the rejection of a
  // terminal ("a deltafile").
  static Result<std::unique_ptr<OutputTarget>> Open(const std::string& out, const std::string& what);
  ~OutputTarget();

  // True when the output is written front to back (the writer must not
  // seek back or resize it).
  bool stream() const { return stream_; }
  // True when the output is standard output (then reports go to stderr).
  bool to_stdout() const { return stdout_; }
  // The name for messages: OUT, or "<stdout>".
  const std::string& name() const { return name_; }

  // Calls write with the File to fill: the stream itself, or a temporary
  // file beside the regular file that is then synced and renamed over it.
  // A stream is synced when it is a block device or a regular file, and
  // closed when ddloop opened it (a tape writes its file mark then), its
  // errors reported. Call once.
  Status Write(Env* env, const std::function<Status(File*)>& write);

 private:
  OutputTarget() = default;
  std::string name_;
  std::string replace_path_;  // regular file or missing name: what ReplaceFile writes
  int fd_ = -1;               // stream
  bool own_fd_ = false;       // opened here: closed by Write or the destructor
  bool stream_ = false;
  bool stdout_ = false;
  bool sync_ = false;  // block device or regular file behind a stream
};

}  // namespace ddl::cli
