// cow_trailer_test - the COW overlay file that CowOverlay writes has the
// layout of ddloop-volume(5) and struct ddl_cow_trailer
// (snapcore/volume_disk_format.h): size D + M + 4096, the bitmap bit of a
// written block at word b/64, bit b%64, and the trailer's fields at the
// struct's offsets. (When cow_overlay moves to attach/, only the include
// below changes.)
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "attach/cow_overlay.h"
#include "deltafile/chain.h"
#include "deltafile/endian.h"
#include "snapcore/volume_disk_format.h"
#include "tests/test_util.h"

namespace ddl::test {
namespace {

namespace fs = std::filesystem;

TEST(CowTrailer, FileMatchesTheDocumentedLayout) {
  std::string tmpl = (fs::temp_directory_path() / "cow-trailer.XXXXXX").string();
  ASSERT_NE(mkdtemp(&tmpl[0]), nullptr) << std::strerror(errno);
  const std::string path = tmpl + "/scratch.cow";

  const uint64_t size = 300 * 1024 + 512;  // not a multiple of 4096
  MemEnv env;
  env.Put("d", MakeDelta(nullptr, RandomBytes(size, 7)));
  auto d = env.Open("d", OpenMode::kRead);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto chain = ChainReader::Open(nullptr, {d.value().get()}, ChainOptions());
  ASSERT_TRUE(chain.ok()) << chain.status().message();
  {
    auto cow = CowOverlay::Open(path, chain.value().get());
    ASSERT_TRUE(cow.ok()) << cow.status().message();
    Bytes block(4096, 0xab);
    ASSERT_TRUE(cow.value()->Write(70 * 4096, block.data(), block.size()).ok());  // block 70: word 1, bit 6
    ASSERT_TRUE(cow.value()->Sync().ok());
  }
  const Bytes f = ReadFileBytes(path);
  fs::remove_all(tmpl);

  const uint64_t blocks = (size + 4095) / 4096;
  const uint64_t D = blocks * 4096, W = (blocks + 63) / 64, M = (W * 8 + 4095) / 4096 * 4096;
  ASSERT_EQ(f.size(), D + M + DDL_COW_TRAILER_SIZE);
  EXPECT_EQ(LoadLE64(&f[D + 8]), uint64_t(1) << 6);  // word 1
  EXPECT_EQ(LoadLE64(&f[D]), 0u);
  EXPECT_EQ(f[70 * 4096], 0xab);

  const uint8_t* t = &f[D + M];
  EXPECT_EQ(std::memcmp(t + offsetof(ddl_cow_trailer, magic), DDL_COW_MAGIC, DDL_COW_MAGIC_LEN), 0);
  EXPECT_EQ(LoadLE64(t + offsetof(ddl_cow_trailer, volume_size)), size);
  const Identity& id = chain.value()->target_header().target;
  EXPECT_EQ(std::memcmp(t + offsetof(ddl_cow_trailer, target) + offsetof(ddl_identity, snapshot_uuid), id.snapshot.b,
                        DDL_UUID_SIZE),
            0);
  uint8_t fp[DDL_FINGERPRINT_SIZE];
  id.fingerprint.Encode(fp);
  EXPECT_EQ(std::memcmp(t + offsetof(ddl_cow_trailer, target) + offsetof(ddl_identity, fingerprint), fp, sizeof fp), 0);
  for (size_t i = 0; i < sizeof(ddl_cow_trailer::reserved); i++)
    ASSERT_EQ(t[offsetof(ddl_cow_trailer, reserved) + i], 0) << "reserved byte " << i;
  EXPECT_EQ(LoadLE64(t + offsetof(ddl_cow_trailer, csum)), Xxh64(t, offsetof(ddl_cow_trailer, csum)));
}

}  // namespace
}  // namespace ddl::test
