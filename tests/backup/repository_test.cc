// repository_test.cc - the catalog logic of backup/repository.h over an
// in-memory Transport: a push that loses the race for its catalog entry
// fails and removes its object, the same delta pushed twice at once
// succeeds; an unreadable entry is skipped and reported; a URL with
// neither the marker nor entries is not a repository; a pull that finds
// the part file locked by another pull downloads into a private file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <mutex>

#include "backup/repository.h"
#include "tests/backup/repo_test_util.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

// Two different seeds, both written as DIR/a/x.delta and DIR/b/x.delta.
struct TwoDeltas {
  TempDir dir;
  std::string a, b;
  TwoDeltas() {
    mkdir((dir.path + "/a").c_str(), 0700);
    mkdir((dir.path + "/b").c_str(), 0700);
    a = dir.path + "/a/x.delta";
    b = dir.path + "/b/x.delta";
    WriteFileBytes(a, MakeDelta(nullptr, RandomBytes(1 << 20, 1)));
    WriteFileBytes(b, MakeDelta(nullptr, RandomBytes(1 << 20, 2)));
  }
};

Status Push(Transport* t, const std::string& file) {
  std::vector<FileResult> out;
  return PushDeltas(t, {file}, RepoOptions(), &out);
}

TEST(Repository, PushWritesTheMarkerAndTheEntry) {
  TwoDeltas d;
  MemTransport t;
  ASSERT_TRUE(Push(&t, d.a).ok());
  EXPECT_EQ(t.objects.count("ddloop-repository"), 1u);
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->entries.size(), 1u);
  EXPECT_EQ(l->entries[0].name, "x.delta");
  EXPECT_TRUE(l->skipped.ok());
}

TEST(Repository, LosingTheRaceForTheEntryFailsAndRemovesTheObject) {
  TwoDeltas d;
  MemTransport other;  // what the winner stored
  ASSERT_TRUE(Push(&other, d.b).ok());
  MemTransport t;
  t.before_create = [&](const std::string& key) {
    if (key == "catalog/x.delta.entry") t.objects[key] = other.objects[key];
  };
  Status s = Push(&t, d.a);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("pushed meanwhile by another writer"), std::string::npos) << s.message();
  EXPECT_EQ(t.objects["catalog/x.delta.entry"], other.objects["catalog/x.delta.entry"]);
  for (const auto& [k, v] : t.objects) EXPECT_NE(k.compare(0, 7, "deltas/"), 0) << "left behind: " << k;
}

TEST(Repository, TheSameDeltaPushedTwiceAtOnceSucceeds) {
  TwoDeltas d;
  MemTransport first;
  ASSERT_TRUE(Push(&first, d.a).ok());
  MemTransport t;
  t.before_create = [&](const std::string& key) {
    if (key == "catalog/x.delta.entry") t.objects[key] = first.objects[key];
  };
  Status s = Push(&t, d.a);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(t.objects.size(), first.objects.size());
}

TEST(Repository, AnUnreadableEntryIsSkippedAndReported) {
  TwoDeltas d;
  MemTransport t;
  ASSERT_TRUE(Push(&t, d.a).ok());
  t.objects["catalog/y.delta.entry"] = "junk\n";
  t.objects["catalog/z.delta.entry"] = std::string(kMaxSmallObject + 1, 'z');
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->entries.size(), 1u);
  EXPECT_EQ(l->skipped.code(), Code::kCorruption);
  EXPECT_NE(l->skipped.message().find("mem://r/catalog/y.delta.entry"), std::string::npos) << l->skipped.message();
  EXPECT_NE(l->skipped.message().find("1 more"), std::string::npos) << l->skipped.message();
}

TEST(Repository, AnEntryNamingAnotherDeltaIsSkipped) {
  TwoDeltas d;
  MemTransport t;
  ASSERT_TRUE(Push(&t, d.a).ok());
  t.objects["catalog/other.delta.entry"] = t.objects["catalog/x.delta.entry"];
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->entries.size(), 1u);
  EXPECT_NE(l->skipped.message().find("other.delta.entry"), std::string::npos) << l->skipped.message();
}

TEST(Repository, NoMarkerAndNoEntriesIsNotARepository) {
  MemTransport t;
  Result<Listing> l = ListDeltas(&t);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().code(), Code::kNotFound);
  EXPECT_EQ(l.status().message(), "mem://r: is there a repository at mem://r? (no ddloop-repository)");
  t.objects["ddloop-repository"] = "ddloop-repository 1\n";
  l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->entries.empty());
}

TEST(Repository, APullFindingThePartLockedUsesAPrivateFile) {
  TwoDeltas d;
  MemTransport t;
  ASSERT_TRUE(Push(&t, d.a).ok());
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  TempDir out;
  const std::string part = out.path + "/.x.delta." + l->entries[0].checksum.substr(6) + ".part";
  WriteFileBytes(part, Bytes(1000, 'j'));  // another pull's partial download, junk to us
  int fd = open(part.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  std::vector<FileResult> res;
  Status s = PullDeltas(&t, out.path, "", RepoOptions(), &res);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ReadFileBytes(out.path + "/x.delta"), ReadFileBytes(d.a));
  EXPECT_EQ(ReadFileBytes(part), Bytes(1000, 'j'));  // not written into
  close(fd);
}

}  // namespace
}  // namespace ddl::test
