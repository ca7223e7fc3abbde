// run_dir.h - a fresh temporary DDLOOP_RUN_DIR (attach/registry.h) for one
// test, removed with everything in it afterwards. Not thread-safe: it sets
// the process environment.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ddl::attach {

class TempRunDir {
 public:
  TempRunDir() {
    std::string t = (std::filesystem::temp_directory_path() / "ddloop-attach-test.XXXXXX").string();
    path_ = ::mkdtemp(t.data()) ? t : "";
    path_ = std::filesystem::canonical(path_).string();
    ::setenv("DDLOOP_RUN_DIR", (path_ + "/run").c_str(), 1);
  }
  ~TempRunDir() {
    ::unsetenv("DDLOOP_RUN_DIR");
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  // The temporary directory; attachments go in path()/run.
  const std::string& dir() const { return path_; }
  std::string path() const { return path_ + "/run"; }

 private:
  std::string path_;
};

}  // namespace ddl::attach
