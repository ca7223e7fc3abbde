// writer_test - the streaming writer's own path (AddChunk, compression on
// worker threads) writes the same bytes as the image differ, whatever the
// thread count, including chunks larger than a frame.
#include <gtest/gtest.h>

#include "deltafile/writer.h"
#include "snapcore/image_diff.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

// Feeds every changed chunk of old -> new to DeltaWriter::AddChunk.
Bytes WriteByChunks(const Bytes& old_img, const Bytes& new_img, WriterOptions w) {
  MemEnv env;
  auto out = env.Open("out", OpenMode::kCreate);
  w.volume_size = new_img.size();
  auto writer = DeltaWriter::Create(out->get(), w);
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  const uint64_t chunk = uint64_t(1) << w.chunk_shift;
  Fingerprint base, target;
  for (uint64_t off = 0, i = 0; off < new_img.size(); off += chunk, i++) {
    const uint64_t n = std::min<uint64_t>(chunk, new_img.size() - off);
    ChunkHash ho = HashChunk(old_img.data() + off, n), hn = HashChunk(new_img.data() + off, n);
    base.Add(i, ho);
    target.Add(i, hn);
    if (std::equal(old_img.begin() + off, old_img.begin() + off + n, new_img.begin() + off)) continue;
    Status s = (*writer)->AddChunk(i, new_img.data() + off, ho);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  Identity b{Uuid::ForContent(w.volume_uuid, base), base}, t{Uuid::ForContent(w.volume_uuid, target), target};
  Status s = (*writer)->Finish(b, t);
  EXPECT_TRUE(s.ok()) << s.message();
  return env.Get("out");
}

TEST(Writer, AddChunkMatchesTheImageDifferAtAnyThreadCount) {
  Bytes a(3 * 1024 * 1024 + 512, 0);
  Put(&a, 0, TextBytes(1 << 20, 1));
  Put(&a, 2 << 20, RandomBytes(512 << 10, 2));
  Bytes b = a;
  Put(&b, 4096 * 3, TextBytes(200000, 3));
  Put(&b, (2 << 20) + 10000, RandomBytes(100000, 4));
  Put(&b, 700000, Bytes(300000, 0));
  Put(&b, b.size() - 300, TextBytes(200, 5));
  for (uint32_t shift : {12u, 16u, 20u}) {  // 1 MiB chunks span four frames
    WriterOptions w;
    w.chunk_shift = shift;
    w.create_time_ns = 1700000000ull * 1000000000ull;
    const Bytes expect = MakeDelta(&a, b, w);
    for (int threads : {0, 1, 3}) {
      SCOPED_TRACE("chunk shift " + std::to_string(shift) + ", threads " + std::to_string(threads));
      w.threads = threads;
      const Bytes got = WriteByChunks(a, b, w);
      EXPECT_TRUE(got == expect);
      Status s = VerifyBytes(got, &a);
      EXPECT_TRUE(s.ok()) << s.message();
    }
  }
}

// A File that is only ever appended to, like a pipe: writing anywhere but at
// its end, reading, sizing or truncating it fails the test.
class AppendOnlyFile : public File {
 public:
  AppendOnlyFile() : File("pipe") {}
  Status ReadAt(uint64_t, void*, size_t, size_t*) override { return Fail("ReadAt"); }
  Status WriteAt(uint64_t off, const void* buf, size_t n) override {
    if (off != bytes.size()) return Fail("WriteAt at " + std::to_string(off) + " of " + std::to_string(bytes.size()));
    const uint8_t* p = static_cast<const uint8_t*>(buf);
    bytes.insert(bytes.end(), p, p + n);
    return Status::Ok();
  }
  Status Sync() override { return Status::Ok(); }
  Result<uint64_t> Size() override { return Fail("Size"); }
  Status Truncate(uint64_t) override { return Fail("Truncate"); }
  Bytes bytes;

 private:
  Status Fail(const std::string& what) {
    ADD_FAILURE() << what << " on a stream";
    return IOError("pipe: " + what + " on a stream");
  }
};

// Diffs a -> b with identities known up front (the header first) into a pipe.
Status DiffIntoPipe(const Bytes& a, const Bytes& b, WriterOptions w, const Identity& base, const Identity& target,
                    AppendOnlyFile* pipe) {
  MemEnv env;
  env.Put("old", a);
  env.Put("new", b);
  auto of = env.Open("old", OpenMode::kRead);
  auto nf = env.Open("new", OpenMode::kRead);
  ImageDiffOptions o;
  o.writer = w;
  o.writer.header_first = true;
  o.writer.base = base;
  o.writer.target = target;
  ImageDiffResult r;
  return CreateDeltaFromImages(of->get(), nf->get(), pipe, o, &r);
}

TEST(Writer, HeaderFirstWritesTheSameBytesFrontToBack) {
  Bytes a(2 * 1024 * 1024, 0);
  Put(&a, 0, TextBytes(1 << 20, 11));
  Bytes b = a;
  Put(&b, 4096 * 7, RandomBytes(300000, 12));
  Put(&b, 1 << 20, Bytes(200000, 0));
  WriterOptions w;
  w.create_time_ns = 1700000000ull * 1000000000ull;
  const Bytes expect = MakeDelta(&a, b, w);
  Header h;
  ASSERT_TRUE(DecodeHeader(expect.data(), &h).ok());
  for (int threads : {0, 2}) {
    w.threads = threads;
    AppendOnlyFile pipe;
    Status s = DiffIntoPipe(a, b, w, h.base, h.target, &pipe);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_TRUE(pipe.bytes == expect) << "threads " << threads;
    s = StreamReadAll(pipe.bytes);
    EXPECT_TRUE(s.ok()) << s.message();
  }
}

TEST(Writer, HeaderFirstFailsWhenTheInputDisagreesWithTheHeader) {
  Bytes a = TextBytes(1 << 20, 21), b = a;
  Put(&b, 8192, RandomBytes(4096, 22));
  WriterOptions w;
  w.create_time_ns = 1700000000ull * 1000000000ull;
  Header h;
  const Bytes good = MakeDelta(&a, b, w);
  ASSERT_TRUE(DecodeHeader(good.data(), &h).ok());
  Identity wrong = h.target;
  wrong.fingerprint.lane[0] ^= 1;  // as if the image changed after it was fingerprinted
  AppendOnlyFile pipe;
  Status s = DiffIntoPipe(a, b, w, h.base, wrong, &pipe);
  EXPECT_EQ(s.code(), Code::kCorruption) << s.message();
  EXPECT_NE(s.message().find("changed while being read"), std::string::npos) << s.message();
  EXPECT_FALSE(StreamReadAll(pipe.bytes).ok());  // what went out is never a valid delta
}

TEST(Writer, RejectsImpossibleOptions) {
  MemEnv env;
  auto out = env.Open("out", OpenMode::kCreate);
  WriterOptions w;
  w.volume_size = 1000;  // not a multiple of 512
  EXPECT_EQ(DeltaWriter::Create(out->get(), w).status().code(), Code::kInvalidArgument);
  w.volume_size = 1 << 20;
  w.chunk_shift = 30;
  EXPECT_EQ(DeltaWriter::Create(out->get(), w).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace ddl::test
