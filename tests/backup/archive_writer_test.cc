// archive_writer_test - the archive writer never writes what the reader
// rejects, and stops at the first failure of its sink. A chain longer than
// one catalog holds (about 3,300 deltafiles in kCatalogMax bytes): without
// --media-size PlanArchives refuses up front, naming the limit; with it the
// chain is split into a set whose every archive the reader accepts, and the
// whole chain verifies.
#include <gtest/gtest.h>

#include "backup/archive_reader.h"
#include "backup/archive_writer.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

constexpr int kDeltas = 3500;  // more than fit in one catalog

// A chain of one-chunk deltas: a seed, then each step changes the chunk.
std::vector<std::string> MakeChain(MemEnv* env) {
  std::vector<std::string> paths;
  Bytes prev;
  for (int i = 0; i < kDeltas; i++) {
    Bytes img(4096, 0);
    const std::string tag = "state " + std::to_string(i);
    std::copy(tag.begin(), tag.end(), img.begin());
    char name[32];
    std::snprintf(name, sizeof name, "d%05d.delta", i);
    env->Put(name, MakeDelta(i == 0 ? nullptr : &prev, img));
    paths.push_back(name);
    prev = img;
  }
  return paths;
}

// Writes every archive of the plan into memory and reads them back in order.
Status WriteAndRestore(MemEnv* env, const ArchivePlan& plan, const ArchiveWriteOptions& wo, RestoreReport* rep) {
  std::vector<std::unique_ptr<File>> files;
  std::vector<std::unique_ptr<FileStream>> streams;
  std::vector<Stream*> sources;
  for (size_t k = 0; k < plan.archives.size(); k++) {
    Bytes out;
    ArchiveWriteReport wr;
    Status s = WriteArchive(
        plan, k,
        [&](const void* p, size_t n) {
          const uint8_t* b = static_cast<const uint8_t*>(p);
          out.insert(out.end(), b, b + n);
          return Status::Ok();
        },
        wo, &wr);
    if (!s.ok()) return s;
    const std::string name = "archive." + std::to_string(k + 1);
    env->Put(name, out);
    files.push_back(std::move(env->Open(name, OpenMode::kRead).value()));
    streams.push_back(std::make_unique<FileStream>(files.back().get()));
    sources.push_back(streams.back().get());
  }
  RestoreOptions ro;
  ro.env = env;
  ro.verify = true;
  return RestoreArchives(sources, ro, rep);
}

TEST(ArchiveCatalogLimit, OneArchiveIsRefusedUpFrontNamingTheLimit) {
  MemEnv env;
  const std::vector<std::string> chain = MakeChain(&env);
  ArchiveWriteOptions wo;
  wo.env = &env;
  wo.tool = "test";
  auto plan = PlanArchives(chain, "set.tar", wo);
  if (plan.ok()) {
    // Whatever the planner accepts, the reader must accept too.
    RestoreReport rep;
    Status s = WriteAndRestore(&env, *plan, wo, &rep);
    FAIL() << "planned " << plan->archives.size() << " archive(s) for " << kDeltas
           << " deltafiles; reading them back: " << (s.ok() ? "ok" : s.message());
  }
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  EXPECT_NE(plan.status().message().find(std::to_string(kCatalogMax) + " bytes"), std::string::npos)
      << plan.status().message();
  EXPECT_NE(plan.status().message().find("--media-size"), std::string::npos) << plan.status().message();
}

TEST(ArchiveCatalogLimit, WithMediaSizeTheChainIsSplitAndEveryArchiveReads) {
  MemEnv env;
  const std::vector<std::string> chain = MakeChain(&env);
  ArchiveWriteOptions wo;
  wo.env = &env;
  wo.tool = "test";
  wo.media_size = uint64_t(1) << 40;  // room for everything: only the catalog limits
  auto plan = PlanArchives(chain, "set.tar", wo);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_GE(plan->archives.size(), 2u);
  for (const Catalog& c : plan->archives) {
    auto text = c.Encode("set.tar");
    ASSERT_TRUE(text.ok()) << text.status().message();
    EXPECT_EQ(text->size(), c.EncodedSize());
    EXPECT_LE(text->size(), kCatalogMax);
  }
  RestoreReport rep;
  Status s = WriteAndRestore(&env, *plan, wo, &rep);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(rep.members.size(), size_t(kDeltas));
  EXPECT_EQ(rep.failed, 0);
  EXPECT_EQ(rep.catalogs.size(), plan->archives.size());
}

// A sink that fails (a full disk) is never called again, and the error is
// the sink's, whether it fails in the catalog or in a deltafile.
TEST(ArchiveWriter, AFailedSinkIsNeverCalledAgain) {
  MemEnv env;
  Bytes img = TextBytes(1 << 20, 5);
  Put(&img, 300000, RandomBytes(200000, 6));
  env.Put("seed.delta", MakeDelta(nullptr, img));
  ArchiveWriteOptions wo;
  wo.env = &env;
  wo.tool = "test";
  auto plan = PlanArchives({"seed.delta"}, "a.tar", wo);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  for (int fail_at : {0, 1, 5}) {
    int calls = 0, after = 0;
    ArchiveWriteReport wr;
    Status s = WriteArchive(
        *plan, 0,
        [&](const void*, size_t) {
          if (calls++ >= fail_at) {
            if (calls > fail_at + 1) after++;
            return IOError("a.tar: write failed: No space left on device");
          }
          return Status::Ok();
        },
        wo, &wr);
    EXPECT_EQ(s.code(), Code::kIOError) << s.message();
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
    EXPECT_EQ(after, 0) << "the sink was called " << after << " more time(s) after failing at block " << fail_at;
  }
}

}  // namespace
}  // namespace ddl::test
