// io_posix_test.cc - the safe-creation primitives of the POSIX Env: nothing
// ddloop creates follows a link planted at its name or reuses a file that
// is not its own.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "deltafile/io.h"
#include "deltafile/replace_file.h"

namespace ddl {
namespace {

class PosixCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ddl-io-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Read(const std::string& p) {
    auto s = ReadSmallFile(env_, p);
    return s.ok() ? *s : "<" + s.status().message() + ">";
  }
  Env* env_ = Env::Posix();
  std::string dir_;
};

TEST_F(PosixCreateTest, CreateNewRefusesPlantedSymlink) {
  const std::string victim = dir_ + "/victim", name = dir_ + "/out";
  ASSERT_TRUE(WriteFileAtomic(env_, victim, "precious").ok());
  ASSERT_EQ(symlink(victim.c_str(), name.c_str()), 0);
  auto f = env_->Open(name, OpenMode::kCreateNew);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), Code::kExists);
  EXPECT_EQ(Read(victim), "precious");
}

TEST_F(PosixCreateTest, CreateRefusesSymlinkToo) {
  const std::string victim = dir_ + "/victim", name = dir_ + "/out";
  ASSERT_TRUE(WriteFileAtomic(env_, victim, "precious").ok());
  ASSERT_EQ(symlink(victim.c_str(), name.c_str()), 0);
  EXPECT_FALSE(env_->Open(name, OpenMode::kCreate).ok());
  EXPECT_EQ(Read(victim), "precious");
}

TEST_F(PosixCreateTest, CreateNewIsPrivate) {
  auto f = env_->Open(dir_ + "/n", OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok());
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/n").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(PosixCreateTest, ResumeRefusesSymlinkFifoAndHardLink) {
  const std::string victim = dir_ + "/victim";
  ASSERT_TRUE(WriteFileAtomic(env_, victim, "precious").ok());
  ASSERT_EQ(symlink(victim.c_str(), (dir_ + "/sym").c_str()), 0);
  ASSERT_EQ(link(victim.c_str(), (dir_ + "/hard").c_str()), 0);
  ASSERT_EQ(mkfifo((dir_ + "/fifo").c_str(), 0600), 0);
  EXPECT_FALSE(env_->Open(dir_ + "/sym", OpenMode::kResume).ok());
  EXPECT_FALSE(env_->Open(dir_ + "/hard", OpenMode::kResume).ok());
  EXPECT_FALSE(env_->Open(dir_ + "/fifo", OpenMode::kResume).ok());  // and does not block
  ASSERT_EQ(unlink((dir_ + "/hard").c_str()), 0);
  EXPECT_TRUE(env_->Open(victim, OpenMode::kResume).ok());
}

TEST_F(PosixCreateTest, TempFilesAreUniqueAndBesideTheTarget) {
  std::set<std::string> names;
  for (int i = 0; i < 50; i++) {
    std::string p;
    auto f = CreateTempFile(env_, dir_ + "/state", &p);
    ASSERT_TRUE(f.ok()) << f.status().message();
    EXPECT_EQ(p.compare(0, dir_.size() + 8, dir_ + "/.state."), 0) << p;
    names.insert(p);
  }
  EXPECT_EQ(names.size(), 50u);
}

TEST_F(PosixCreateTest, WriteFileAtomicReplacesALinkNotItsTarget) {
  const std::string victim = dir_ + "/victim", name = dir_ + "/state";
  ASSERT_TRUE(WriteFileAtomic(env_, victim, "precious").ok());
  ASSERT_EQ(symlink(victim.c_str(), name.c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), (name + ".tmp").c_str()), 0);  // the old fixed temp name
  ASSERT_TRUE(WriteFileAtomic(env_, name, "new").ok());
  EXPECT_EQ(Read(victim), "precious");
  EXPECT_EQ(Read(name), "new");
  struct stat st;
  ASSERT_EQ(lstat(name.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

// The names in dir_ (temporary files included).
std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.insert(e->d_name);
    closedir(d);
  }
  return out;
}

TEST_F(PosixCreateTest, ReplaceFileThatFailsLeavesTheTargetAndNoTempFile) {
  const std::string out = dir_ + "/out";
  ASSERT_TRUE(WriteFileAtomic(env_, out, "old").ok());
  Status s = ReplaceFile(env_, out, [](File* f) {
    Status w = f->WriteAt(0, "half", 4);
    return w.ok() ? IOError("out: the writer failed") : w;
  });
  EXPECT_EQ(s.message(), "out: the writer failed");
  EXPECT_EQ(Read(out), "old");
  EXPECT_EQ(Names(dir_), std::set<std::string>{"out"});
}

TEST_F(PosixCreateTest, ReplaceFileWritesThroughAUniqueTempFile) {
  const std::string out = dir_ + "/out";
  std::string seen;
  ASSERT_TRUE(ReplaceFile(env_, out, [&](File* f) {
                seen = f->name();
                return f->WriteAt(0, "new", 3);
              }).ok());
  EXPECT_EQ(Read(out), "new");
  EXPECT_EQ(seen.compare(0, dir_.size() + 6, dir_ + "/.out."), 0) << seen;
  EXPECT_EQ(Names(dir_), std::set<std::string>{"out"});
}

// A signal that stops the process while it writes removes the temporary
// file (with kRemoveTempOnSignal) and leaves the target as it was; without
// the option the temporary file stays behind (so the test can fail).
TEST_F(PosixCreateTest, ReplaceFileRemovesItsTempFileWhenASignalStopsIt) {
  for (bool cleanup : {true, false}) {
    const std::string out = dir_ + "/out";
    std::system(("rm -f " + dir_ + "/.out.*").c_str());
    ASSERT_TRUE(WriteFileAtomic(env_, out, "old").ok());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ReplaceFile(
          Env::Posix(), out,
          [](File* f) {
            f->WriteAt(0, "half", 4);
            raise(SIGTERM);
            return Status::Ok();
          },
          cleanup ? ReplaceOption::kRemoveTempOnSignal : ReplaceOption::kNone);
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
    EXPECT_EQ(Read(out), "old");
    EXPECT_EQ(Names(dir_).size(), cleanup ? 1u : 2u) << "cleanup " << cleanup;
  }
}

}  // namespace
}  // namespace ddl
