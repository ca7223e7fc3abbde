// archive_source_test.cc - what `restore -f` opens (backup/archive_source.h):
// a regular file through Env (so the memory env serves it), a FIFO through
// its descriptor, a missing file as kNotFound.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "backup/archive_source.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

Result<Bytes> ReadAll(Stream* s) {
  Bytes out;
  uint8_t buf[1000];
  for (;;) {
    size_t got = 0;
    DDL_RETURN_IF_ERROR(s->Read(buf, sizeof buf, &got));
    out.insert(out.end(), buf, buf + got);
    if (got < sizeof buf) return out;
  }
}

TEST(ArchiveSource, RegularFileIsReadThroughEnv) {
  MemEnv env;
  Bytes data = RandomBytes(12345, 3);
  env.Put("a.tar", data);
  auto s = ArchiveSource::Open(&env, "a.tar");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s.value()->stream()->name(), "a.tar");
  auto got = ReadAll(s.value()->stream());
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(got.value() == data);
}

TEST(ArchiveSource, MissingFileIsNotFound) {
  MemEnv env;
  auto s = ArchiveSource::Open(&env, "/nonexistent-ddloop-dir/a.tar");
  EXPECT_EQ(s.status().code(), Code::kNotFound);
  EXPECT_EQ(s.status().message().rfind("/nonexistent-ddloop-dir/a.tar: cannot open: ", 0), 0u) << s.status().message();
}

TEST(ArchiveSource, FifoIsReadThroughItsDescriptor) {
  char tmpl[] = "/tmp/ddloop-source-test.XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string fifo = dir + "/pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Bytes data = RandomBytes(70000, 4);
  std::thread writer([&] { WriteFileBytes(fifo, data); });
  auto s = ArchiveSource::Open(Env::Posix(), fifo);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto got = ReadAll(s.value()->stream());
  writer.join();
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(got.value() == data);
  (void)std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace ddl::test
