// registry_test.cc - attachment records: save and load round trip, damaged
// records are errors (and left out of a listing), finding by device or dir.
#include "attach/registry.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "deltafile/io.h"
#include "tests/attach/run_dir.h"

namespace ddl::attach {
namespace {

class Registry : public ::testing::Test {
 protected:
  TempRunDir run_;
};

void WriteState(const Attachment& a, const std::string& text) {
  std::ofstream(a.dir + "/state", std::ios::trunc) << text;
}

TEST_F(Registry, SaveLoadRoundTrip) {
  auto made = NewAttachment();
  ASSERT_TRUE(made.ok()) << made.status().message();
  Attachment a = *made;
  EXPECT_EQ(a.dir, run_.path() + "/" + a.id);
  a.kind = kKindKernel;
  a.loop = "/dev/ddloop3";
  a.fs_mount = "/mnt/with space";
  a.base = "/img/base.img";
  a.cow = "/img/scratch.cow";
  a.deltas = {"/d/one.delta", "/d/two words.delta"};
  a.volume = "/vol/v1";
  a.snapshot = "tuesday";
  a.owner = "replica serve /srv/r";
  a.pid = 4242;
  a.created = 1764633600;
  ASSERT_TRUE(SaveAttachment(a).ok());

  auto b = LoadAttachment(a.dir);
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->id, a.id);
  EXPECT_EQ(b->dir, a.dir);
  EXPECT_EQ(b->kind, a.kind);
  EXPECT_TRUE(b->kernel());
  EXPECT_EQ(b->loop, a.loop);
  EXPECT_EQ(b->fs_mount, a.fs_mount);
  EXPECT_EQ(b->base, a.base);
  EXPECT_EQ(b->cow, a.cow);
  EXPECT_EQ(b->deltas, a.deltas);
  EXPECT_EQ(b->volume, a.volume);
  EXPECT_EQ(b->snapshot, a.snapshot);
  EXPECT_EQ(b->owner, a.owner);
  EXPECT_EQ(b->pid, a.pid);
  EXPECT_EQ(b->created, a.created);

  ASSERT_EQ(ListAttachments().size(), 1u);
  for (const std::string& what : {a.id, a.loop, a.fs_mount, a.FuseMount(), a.dir}) {
    auto f = FindAttachment(what);
    ASSERT_TRUE(f.ok()) << what;
    EXPECT_EQ(f->id, a.id);
  }
  EXPECT_EQ(FindAttachment("/dev/loop99").status().code(), Code::kNotFound);
  EXPECT_EQ(VolumeAttachments("/vol/v1").size(), 1u);
  EXPECT_TRUE(VolumeAttachments("/vol/other").empty());
}

TEST_F(Registry, MissingRecordIsNotFound) {
  auto a = NewAttachment();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(LoadAttachment(a->dir).status().code(), Code::kNotFound);
}

TEST_F(Registry, DamagedRecordIsAnErrorNotACrash) {
  auto good = NewAttachment();
  ASSERT_TRUE(good.ok());
  ASSERT_TRUE(SaveAttachment(*good).ok());
  auto bad = NewAttachment();
  ASSERT_TRUE(bad.ok());
  const std::string path = bad->dir + "/state";
  struct Case {
    std::string text, why;
  } cases[] = {
      {"kind fuse\nloop /dev/loop1\n", "no 'id' line"},
      {"id ddl-x\npid abc\n", "pid 'abc'"},
      {"id ddl-x\npid -5\n", "pid '-5'"},
      {"id ddl-x\npid 99999999999999999999999\n", "pid '99999999999999999999999'"},
      {"id ddl-x\npid 4294967296\n", "pid 4294967296 is not a process id"},  // more than an int
      {"id ddl-x\ncreated 18446744073709551616\n", "created '18446744073709551616'"},
      {"id ddl-x\ncreated\n", "malformed line 3 'created'"},
      {std::string("id ddl-x\0pid 1\n", 15) + "pid 1x\n", "line 2 has a control character"},
  };
  for (const Case& c : cases) {
    WriteState(*bad, c.text);
    auto r = LoadAttachment(bad->dir);
    ASSERT_FALSE(r.ok()) << c.why;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << c.why;
    EXPECT_EQ(r.status().message().rfind(path + ": damaged attachment record: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(c.why), std::string::npos)
        << r.status().message() << " (want: " << c.why << ")";
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
    // A listing still shows the good one and leaves the damaged one out.
    std::vector<Attachment> all = ListAttachments();
    ASSERT_EQ(all.size(), 1u) << c.why;
    EXPECT_EQ(all[0].id, good->id);
  }
}

// The record is the codec's (deltafile/text_record.h): a changed byte fails
// its checksum; a record written before the codec (no magic, no checksum)
// still loads, so an attachment made before an upgrade can be detached.
TEST_F(Registry, RecordHasAChecksumAndOldRecordsStillLoad) {
  auto a = NewAttachment();
  ASSERT_TRUE(a.ok());
  a->loop = "/dev/loop7";
  a->deltas = {"/d/1.delta", "/d/2 with space.delta"};
  ASSERT_TRUE(SaveAttachment(*a).ok());
  const std::string path = a->dir + "/state";
  auto read = ReadSmallFile(Env::Posix(), path, kMaxRecordBytes);
  ASSERT_TRUE(read.ok());
  const std::string text = *read;
  ASSERT_EQ(text.rfind("ddloop-attachment 1\n", 0), 0u) << text;
  const size_t at = text.find("/dev/loop7");
  ASSERT_NE(at, std::string::npos);
  std::string damaged = text;
  damaged[at + 9] = '8';
  WriteState(*a, damaged);
  auto r = LoadAttachment(a->dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();

  WriteState(*a, "id " + a->id +
                     "\nkind fuse\nloop /dev/loop3\nfs_mount \nbase /b.img\ncow \npid 42\ncreated 7\n"
                     "delta /d/1.delta\ndelta /d/2.delta\n");
  auto old = LoadAttachment(a->dir);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->loop, "/dev/loop3");
  EXPECT_EQ(old->pid, 42);
  EXPECT_EQ(old->created, 7u);
  EXPECT_EQ(old->deltas, (std::vector<std::string>{"/d/1.delta", "/d/2.delta"}));
}

TEST_F(Registry, OversizedRecordIsRejectedBeforeReading) {
  auto a = NewAttachment();
  ASSERT_TRUE(a.ok());
  WriteState(*a, "id " + a->id + "\n" + std::string(kMaxRecordBytes, 'x'));
  auto r = LoadAttachment(a->dir);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(r.status().message().rfind(a->dir + "/state: ", 0), 0u) << r.status().message();
}

}  // namespace
}  // namespace ddl::attach
