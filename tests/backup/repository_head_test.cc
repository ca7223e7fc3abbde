// repository_head_test.cc - the repository's own objects
// (backup/repository_head.h) over an in-memory Transport and file://: the
// manifest binds a repository to one volume and a delta of another is
// refused with nothing uploaded; an older ddloop's marker reads as unbound
// and the next push binds it; HEAD's seq grows and push moves HEAD only
// along the chain it continues; a damaged HEAD is one kCorruption line;
// the conditional read on file://; snapshot names in catalog entries, and
// unknown entry keys ignored; replica positions and how far behind HEAD.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "backup/repository.h"
#include "backup/repository_head.h"
#include "deltafile/hash.h"
#include "deltafile/hex.h"
#include "deltafile/text_record.h"
#include "tests/backup/repo_test_util.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

Uuid VolumeA() {
  Uuid u;
  Uuid::Parse("0a0a0a0a-0000-4000-8000-00000000000a", &u);
  return u;
}
Uuid VolumeB() {
  Uuid u;
  Uuid::Parse("0b0b0b0b-0000-4000-8000-00000000000b", &u);
  return u;
}

// A chain of `n` deltas of `volume` in DIR: c0.delta (a seed), c1.delta, ...
// and a fork f2.delta from c1's target.
struct Chain {
  TempDir dir;
  std::vector<std::string> files;
  std::string fork;
  Chain(const Uuid& volume, int n) {
    WriterOptions w;
    w.volume_uuid = volume;
    Bytes img = RandomBytes(256 << 10, 7);
    Bytes after_c1;
    for (int i = 0; i < n; i++) {
      Bytes next = img;
      Put(&next, size_t(i) * 4096, RandomBytes(4096, 100 + i));
      const std::string f = dir.path + "/c" + std::to_string(i) + ".delta";
      WriteFileBytes(f, MakeDelta(i == 0 ? nullptr : &img, i == 0 ? img : next, w));
      files.push_back(f);
      if (i > 0) img = next;
      if (i == 1) after_c1 = img;
    }
    if (n > 2) {
      Bytes other = after_c1;
      Put(&other, 200 << 10, RandomBytes(4096, 999));
      fork = dir.path + "/f2.delta";
      WriteFileBytes(fork, MakeDelta(&after_c1, other, w));
    }
  }
};

Status Push(Transport* t, const std::vector<std::string>& files, RepoOptions o = RepoOptions()) {
  std::vector<FileResult> out;
  return PushDeltas(t, files, o, &out);
}

std::string Last(const std::string& path) { return path.substr(path.rfind('/') + 1); }

TEST(RepoManifest, TheFirstPushBindsTheVolumeAndAnotherVolumeIsRefused) {
  Chain a(VolumeA(), 1), b(VolumeB(), 1);
  MemTransport t;
  ASSERT_TRUE(Push(&t, a.files).ok());
  Result<RepoManifest> m = ReadManifest(&t);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->volume, VolumeA());
  EXPECT_EQ(m->name, "r");
  EXPECT_NE(m->created_ns, 0u);
  const auto before = t.objects;
  Status s = Push(&t, b.files);
  EXPECT_EQ(s.code(), Code::kForeign) << s.message();
  EXPECT_EQ(s.message(), "mem://r: repository of volume " + VolumeA().ToString() + ", not " + VolumeB().ToString());
  EXPECT_EQ(t.objects, before) << "nothing uploaded";
  EXPECT_EQ(EnsureManifest(&t, Uuid(), "").code(), Code::kForeign) << "an unbound delta does not fit either";
}

TEST(RepoManifest, DeltasOfTwoVolumesInOnePushAreRefusedBeforeAnything) {
  Chain a(VolumeA(), 1), b(VolumeB(), 1);
  MemTransport t;
  Status s = Push(&t, {a.files[0], b.dir.path + "/c0.delta"});
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << "same name: " << s.message();
  std::string renamed = b.dir.path + "/b0.delta";
  ASSERT_EQ(rename(b.files[0].c_str(), renamed.c_str()), 0);
  s = Push(&t, {a.files[0], renamed});
  EXPECT_EQ(s.code(), Code::kForeign) << s.message();
  EXPECT_TRUE(t.objects.empty());
}

TEST(RepoManifest, AnOldMarkerReadsAsUnboundAndTheNextPushBindsIt) {
  Chain a(VolumeA(), 1);
  MemTransport t;
  t.objects["ddloop-repository"] = "ddloop-repository 1\n";
  Result<RepoManifest> m = ReadManifest(&t);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->volume.IsNil());
  EXPECT_EQ(m->created_ns, 0u);
  ASSERT_TRUE(Push(&t, a.files).ok());
  m = ReadManifest(&t);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->volume, VolumeA());
  EXPECT_EQ(t.tags["ddloop-repository"], 1u) << "rewritten once";
  ASSERT_TRUE(Push(&t, a.files).ok());
  EXPECT_EQ(t.tags["ddloop-repository"], 1u) << "and only once";
  EXPECT_EQ(EnsureManifest(&t, VolumeB(), "").code(), Code::kForeign);
}

TEST(RepoManifest, AnUnboundRepositoryHoldingAnotherVolumesDeltaIsNotBound) {
  Chain a(VolumeA(), 1), unbound(Uuid(), 1);
  MemTransport t;
  ASSERT_TRUE(Push(&t, unbound.files).ok());
  Result<RepoManifest> m = ReadManifest(&t);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->volume.IsNil());
  Status s = Push(&t, a.files);
  EXPECT_EQ(s.code(), Code::kForeign) << s.message();
  EXPECT_NE(s.message().find("c0.delta.entry"), std::string::npos) << s.message();
  EXPECT_TRUE(ReadManifest(&t)->volume.IsNil());
}

TEST(RepoManifest, NoManifestIsNotFoundAndADamagedOneIsCorrupt) {
  MemTransport t;
  Result<RepoManifest> m = ReadManifest(&t);
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_EQ(m.status().message(), "mem://r: is there a repository at mem://r? (no ddloop-repository)");
  t.objects["ddloop-repository"] = "ddloop-repository 1\nvolume 0a0a0a0a-0000-4000-8000-00000000000a\n";
  EXPECT_EQ(ReadManifest(&t).status().code(), Code::kCorruption) << "fields need their checksum line";
  MemTransport named;
  ASSERT_TRUE(EnsureManifest(&named, VolumeA(), "vol-a").ok());
  EXPECT_EQ(ReadManifest(&named)->name, "vol-a");
  std::string& text = named.objects["ddloop-repository"];
  text[text.find("vol-a")] = 'V';
  m = ReadManifest(&named);
  EXPECT_EQ(m.status().code(), Code::kCorruption);
  EXPECT_NE(m.status().message().find("mem://r/ddloop-repository: damaged repository manifest"), std::string::npos)
      << m.status().message();
}

TEST(RepoHead, PushMovesHeadAlongTheChainItContinuesOnly) {
  Chain a(VolumeA(), 4);
  MemTransport t;
  EXPECT_EQ(ReadHead(&t).status().code(), Code::kNotFound);
  ASSERT_TRUE(Push(&t, {a.files[0]}).ok());
  Result<RepoHead> h = ReadHead(&t);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->seq, 1u);
  EXPECT_EQ(h->entry, "c0.delta");
  // Given out of order: still the chain c1, c2.
  ASSERT_TRUE(Push(&t, {a.files[2], a.files[1]}).ok());
  h = ReadHead(&t);
  EXPECT_EQ(h->seq, 2u);
  EXPECT_EQ(h->entry, "c2.delta");
  // Pushed again (skipped), or a fork off c1: HEAD stays.
  ASSERT_TRUE(Push(&t, {a.files[0], a.files[1]}).ok());
  ASSERT_TRUE(Push(&t, {a.fork}).ok());
  h = ReadHead(&t);
  EXPECT_EQ(h->seq, 2u);
  EXPECT_EQ(h->entry, "c2.delta");
  ASSERT_TRUE(Push(&t, {a.files[3]}).ok());
  EXPECT_EQ(ReadHead(&t)->entry, "c3.delta");
  EXPECT_EQ(ReadHead(&t)->seq, 3u);
}

TEST(RepoHead, APushWithAFailedFileReportsItAndMovesHeadAlongTheRest) {
  Chain a(VolumeA(), 1);
  const std::string junk = a.dir.path + "/junk.delta";
  WriteFileBytes(junk, Bytes(5000, 'j'));
  MemTransport t;
  Status s = Push(&t, {a.files[0], junk});
  EXPECT_EQ(s.code(), Code::kCorruption) << s.message();
  EXPECT_NE(s.message().find("junk.delta"), std::string::npos) << s.message();
  Result<RepoHead> h = ReadHead(&t);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->entry, "c0.delta");
}

// A server that goes down during an upload: every later request fails.
class DyingTransport : public MemTransport {
 public:
  bool down = false;
  Result<std::string> ReadSmall(const std::string& key) override {
    if (down) return RemoteError(Describe(key) + ": connection refused");
    return MemTransport::ReadSmall(key);
  }
  Status Upload(const std::string& key, File*, uint64_t, const NetOptions&, TransferStats*) override {
    down = true;
    return RemoteError(Describe(key) + ": connection reset during the upload");
  }
};

TEST(RepoHead, AnUploadCutOffIsTheErrorReportedNotTheHeadReadAfterIt) {
  Chain a(VolumeA(), 1);
  DyingTransport t;
  Status s = Push(&t, a.files);
  EXPECT_EQ(s.code(), Code::kRemote);
  EXPECT_NE(s.message().find("during the upload"), std::string::npos) << s.message();
}

TEST(RepoHead, MoveHeadGrowsSeqAndNeedsTheEntryInTheCatalog) {
  Chain a(VolumeA(), 3);
  MemTransport t;
  ASSERT_TRUE(Push(&t, a.files).ok());
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->entries.size(), 3u);
  const uint64_t seq = ReadHead(&t)->seq;
  CatalogEntry back = l->entries[0];  // publish may move HEAD back, explicitly
  back.target_name = "monday";
  ASSERT_TRUE(MoveHead(&t, back).ok());
  Result<RepoHead> h = ReadHead(&t);
  EXPECT_EQ(h->seq, seq + 1);
  EXPECT_EQ(h->entry, "c0.delta");
  EXPECT_EQ(h->snapshot_name, "monday");
  EXPECT_EQ(h->target.fingerprint.Hex(), back.target_fingerprint);
  ASSERT_TRUE(MoveHead(&t, l->entries[2]).ok());
  EXPECT_EQ(ReadHead(&t)->seq, seq + 2);
  CatalogEntry missing = l->entries[1];
  missing.name = "nosuch.delta";
  EXPECT_EQ(MoveHead(&t, missing).code(), Code::kNotFound);
  CatalogEntry other = l->entries[1];
  other.name = "c2.delta";
  EXPECT_EQ(MoveHead(&t, other).code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadHead(&t)->seq, seq + 2);
}

TEST(RepoHead, ADamagedHeadIsOneCorruptionLineAndStopsAPush) {
  Chain a(VolumeA(), 2);
  MemTransport t;
  ASSERT_TRUE(Push(&t, {a.files[0]}).ok());
  std::string& head = t.objects["HEAD"];
  head[head.find("seq 1") + 4] = '7';
  Result<RepoHead> h = ReadHead(&t);
  EXPECT_EQ(h.status().code(), Code::kCorruption);
  EXPECT_EQ(h.status().message(), "mem://r/HEAD: damaged repository HEAD: checksum mismatch");
  const auto before = t.objects;
  EXPECT_EQ(Push(&t, {a.files[1]}).code(), Code::kCorruption);
  EXPECT_EQ(t.objects, before) << "nothing uploaded";
  EXPECT_EQ(MoveHead(&t, CatalogEntry()).code(), Code::kInvalidArgument);
  t.objects["HEAD"] = "ddloop-head 1\n";
  EXPECT_EQ(ReadHead(&t).status().code(), Code::kCorruption);
}

TEST(RepoHead, ConditionalReadOnFileTransport) {
  Chain a(VolumeA(), 2);
  TempDir repo;
  Result<std::unique_ptr<Transport>> ft = OpenTransport("file://" + repo.path, TransportConfig());
  ASSERT_TRUE(ft.ok());
  Transport* t = ft->get();
  RepoHead h;
  EXPECT_EQ(ReadHeadIfChanged(t, "", &h).status().code(), Code::kNotFound);
  ASSERT_TRUE(Push(t, {a.files[0]}).ok());
  Result<SmallRead> r = ReadHeadIfChanged(t, "", &h);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(h.seq, 1u);
  EXPECT_FALSE(r->tag.empty());
  h.seq = 99;
  Result<SmallRead> same = ReadHeadIfChanged(t, r->tag, &h);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_TRUE(same->data.empty());
  EXPECT_EQ(h.seq, 99u) << "untouched";
  // Rewritten with the very same bytes: a new file, a new tag.
  ASSERT_TRUE(t->WriteSmall("HEAD", r->data).ok());
  Result<SmallRead> again = t->ReadSmallIfChanged("HEAD", r->tag);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->changed);
  EXPECT_EQ(again->data, r->data);
  ASSERT_TRUE(Push(t, {a.files[1]}).ok());
  Result<SmallRead> moved = ReadHeadIfChanged(t, again->tag, &h);
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(moved->changed);
  EXPECT_EQ(h.seq, 2u);
  EXPECT_EQ(h.entry, "c1.delta");
  EXPECT_EQ(t->ReadSmallIfChanged("HEAD", "bad\ntag").status().code(), Code::kInvalidArgument);
}

TEST(CatalogNames, SnapshotNamesGoIntoEntriesAndBack) {
  Chain a(VolumeA(), 2);
  MemTransport t;
  RepoOptions o;
  o.snapshot_name = [](const std::string& f) { return Last(f) == "c1.delta" ? "tuesday" : ""; };
  o.snapshot_time = [](const std::string& f) { return Last(f) == "c1.delta" ? uint64_t(1234567) : uint64_t(0); };
  ASSERT_TRUE(Push(&t, a.files, o).ok());
  const std::string& c0 = t.objects["catalog/c0.delta.entry"];
  EXPECT_EQ(c0.find("target_name"), std::string::npos) << "written only when set";
  EXPECT_EQ(c0.find("target_created_ns"), std::string::npos) << "written only when set";
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->entries.size(), 2u);
  EXPECT_EQ(l->entries[1].target_name, "tuesday");
  EXPECT_EQ(l->entries[1].target_created_ns, 1234567u);
  EXPECT_EQ(ReadHead(&t)->snapshot_name, "tuesday");
  CatalogEntry e;
  Result<std::string> text = l->entries[1].Encode("x");
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(CatalogEntry::Decode(*text, "x", &e).ok());
  EXPECT_EQ(e.target_name, "tuesday");
  EXPECT_EQ(e.target_created_ns, 1234567u);
}

TEST(CatalogNames, UnknownKeysAreIgnoredButTheChecksumLineStillCounts) {
  Chain a(VolumeA(), 1);
  MemTransport t;
  ASSERT_TRUE(Push(&t, a.files).ok());
  std::string text = t.objects["catalog/c0.delta.entry"] + "replica_hint something new\n";
  CatalogEntry e;
  Status s = CatalogEntry::Decode(text, "x", &e);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(e.name, "c0.delta");
  // With a trailer (a future writer), the trailer is checked.
  const std::string body = text;
  const std::string good = body + "checksum " + Hex64(Xxh64(body.data(), body.size())) + "\n";
  EXPECT_TRUE(CatalogEntry::Decode(good, "x", &e).ok());
  std::string bad = good;
  bad[bad.find("something")] = 'S';
  EXPECT_EQ(CatalogEntry::Decode(bad, "x", &e).code(), Code::kCorruption);
}

TEST(ReplicaPositions, ListedWithTheirDistanceToHead) {
  Chain a(VolumeA(), 3);
  MemTransport t;
  ASSERT_TRUE(Push(&t, a.files).ok());
  Result<Listing> l = ListDeltas(&t);
  ASSERT_TRUE(l.ok());
  const Identity head = ReadHead(&t)->target;
  ReplicaPosition p;
  p.id = "site-b";
  ASSERT_TRUE(Uuid::Parse(l->entries[0].target_snapshot, &p.at.snapshot));
  ASSERT_TRUE(ParseFingerprintHex(l->entries[0].target_fingerprint, &p.at.fingerprint));
  p.snapshot_name = "monday";
  p.updated_ns = 5;
  ASSERT_TRUE(WriteReplicaPosition(&t, p).ok());
  ReplicaPosition q = p;
  q.id = "site-a";
  q.at = head;
  q.expires_ns = 9;
  ASSERT_TRUE(WriteReplicaPosition(&t, q).ok());
  q.id = ".hidden";
  EXPECT_EQ(WriteReplicaPosition(&t, q).code(), Code::kInvalidArgument);
  q.id = std::string(65, 'x');
  EXPECT_EQ(WriteReplicaPosition(&t, q).code(), Code::kInvalidArgument);
  t.objects["replicas/site-c"] = "junk\n";
  t.objects["replicas/site-d"] = t.objects["replicas/site-a"];  // names another replica
  Status skipped;
  Result<std::vector<ReplicaPosition>> all = ListReplicaPositions(&t, &skipped);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "site-a");
  EXPECT_EQ((*all)[0].expires_ns, 9u);
  EXPECT_EQ((*all)[1].snapshot_name, "monday");
  EXPECT_EQ(skipped.code(), Code::kCorruption);
  EXPECT_NE(skipped.message().find("mem://r/replicas/site-c"), std::string::npos) << skipped.message();
  EXPECT_NE(skipped.message().find("1 more, 2 listed"), std::string::npos) << skipped.message();
  EXPECT_EQ(DeltasBehind(l->entries, (*all)[0].at, head), 0);
  EXPECT_EQ(DeltasBehind(l->entries, (*all)[1].at, head), 2);
  EXPECT_EQ(DeltasBehind(l->entries, head, (*all)[1].at), -1) << "ahead is not behind";
  MemTransport empty;
  EXPECT_TRUE(ListReplicaPositions(&empty)->empty());
}

}  // namespace
}  // namespace ddl::test
