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
#include "tests/test_util.h"

namespace ddl::test {
namespace {

// Objects in a map. before_create runs inside CreateSmall, before the
// name is tested: a test puts "another writer" there.
class MemTransport : public Transport {
 public:
  std::map<std::string, std::string> objects;
  std::map<std::string, uint64_t> tags;
  std::function<void(const std::string& key)> before_create;

  std::string Describe(const std::string& key) const override { return "mem://r/" + key; }
  Result<uint64_t> Size(const std::string& key) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    return static_cast<uint64_t>(it->second.size());
  }
  Result<std::string> ReadSmall(const std::string& key) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    if (it->second.size() > kMaxSmallObject) return Corruption(Describe(key) + ": too large");
    return it->second;
  }
  // The tag is a write counter, so every write changes it.
  Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    SmallRead r;
    r.tag = std::to_string(tags[key]);
    if (!tag.empty() && tag == r.tag) {
      r.changed = false;
      return r;
    }
    r.data = it->second;
    return r;
  }
  Status WriteSmall(const std::string& key, const std::string& data) override {
    tags[key]++;
    objects[key] = data;
    return Status::Ok();
  }
  Status CreateSmall(const std::string& key, const std::string& data) override {
    if (before_create) before_create(key);
    if (objects.count(key)) return Status(Code::kExists, Describe(key) + ": exists already");
    objects[key] = data;
    return Status::Ok();
  }
  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions&, TransferStats* st) override {
    std::string data(size, '\0');
    DDL_RETURN_IF_ERROR(src->ReadExact(0, data.data(), size));
    objects[key] = data;
    st->bytes_transferred = size;
    return Status::Ok();
  }
  Status Download(const std::string& key, uint64_t size, File* dst, uint64_t have, const NetOptions&,
                  TransferStats* st) override {
    auto it = objects.find(key);
    if (it == objects.end()) return Status(Code::kNotFound, Describe(key) + ": no such object");
    if (it->second.size() > size) return Corruption(Describe(key) + ": larger than expected");
    if (have > it->second.size()) have = 0;
    st->resumed_from = have;
    st->bytes_transferred = it->second.size() - have;
    DDL_RETURN_IF_ERROR(dst->WriteAt(have, it->second.data() + have, it->second.size() - have));
    return dst->Truncate(it->second.size());
  }
  Result<std::vector<std::string>> List(const std::string& dir) override {
    std::vector<std::string> names;
    const std::string p = dir + "/";
    for (const auto& [k, v] : objects)
      if (k.compare(0, p.size(), p) == 0 && k.find('/', p.size()) == std::string::npos)
        names.push_back(k.substr(p.size()));
    if (names.empty()) return Status(Code::kNotFound, Describe(p) + ": no such directory");
    return names;
  }
  Status Remove(const std::string& key) override {
    objects.erase(key);
    return Status::Ok();
  }
};

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/ddloop-repository-test.XXXXXX";
    path = mkdtemp(t);
  }
  ~TempDir() { (void)system(("rm -rf '" + path + "'").c_str()); }
};

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
