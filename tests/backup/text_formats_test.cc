// text_formats_test - backup/'s small text files on the one codec
// (deltafile/text_record.h): files written before it (tests/backup/
// old_formats/, made by the ddloop of main at 28e4f74, whose
// text formats are those of aeb4454) still read, what is written now
// reads back, and what lacked a checksum line before is written with one
// except the repository's catalog entries (read by older ddloops).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "backup/apply_state.h"
#include "backup/archive_catalog.h"
#include "backup/repository.h"
#include "backup/s3_upload_state.h"

namespace ddl {
namespace {

std::string Old(const std::string& name) {
  std::ifstream in(std::string(DDLOOP_TEST_SOURCE_DIR) + "/backup/old_formats/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

TEST(OldTextFormats, ApplyStateReadsAndIsWrittenTheSame) {
  const std::string text = Old("replica-state-at.txt");
  auto s = ApplyState::Decode(text, "img.ddloop-state");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->phase, ApplyState::Phase::kAt);
  EXPECT_EQ(s->volume_size, 2097152u);
  EXPECT_EQ(s->chunk_shift, 12u);
  EXPECT_EQ(s->image, "%2Ftmp%2Fxc%2Fr1.img");
  EXPECT_EQ(s->current.fingerprint.Hex(), "b278a378344105d92d94518e944697054a85b61c4bf7847ec9ae1748d8b5405c");
  auto again = s->Encode("img.ddloop-state");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, text);  // byte for byte, checksum included
}

TEST(OldTextFormats, ApplyStateOfTheLongestPathIsWritten) {
  ApplyState s;
  s.image = EscapeStateName("/" + std::string(4094, '/'));  // PATH_MAX, every byte escaped
  auto text = s.Encode("x");
  ASSERT_TRUE(text.ok()) << text.status().message();
  auto back = ApplyState::Decode(*text, "x");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->image, s.image);
}

TEST(OldTextFormats, ArchiveCatalogReadsAndIsWrittenTheSame) {
  const std::string text = Old("archive-catalog.txt");
  auto c = Catalog::Decode(text, "old.tar");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->members.size(), 2u);
  EXPECT_EQ(c->members[1].name, "ab.delta");
  EXPECT_EQ(c->members[1].header_csum, 0x9898426e45611e0full);
  EXPECT_EQ(c->next_archive, "");
  auto again = c->Encode("old.tar");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, text);
  EXPECT_EQ(again->size(), c->EncodedSize());
}

TEST(OldTextFormats, CatalogEntryWithoutChecksumLineReadsAndIsWrittenTheSame) {
  const std::string text = Old("catalog-entry.txt");
  CatalogEntry e;
  Status s = CatalogEntry::Decode(text, "catalog/ab.delta.entry", &e);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(e.checksum, "xxh64:8222c10a9d57f510");
  EXPECT_EQ(e.size, 70656u);
  EXPECT_EQ(e.created_ns, 1796175671080759105u);
  auto again = e.Encode("catalog/ab.delta.entry");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, text);  // still without a trailer: older readers must read it
  // A trailer, if a later writer adds one, is checked.
  std::string signed_text = text + "checksum 0000000000000000\n";
  EXPECT_EQ(CatalogEntry::Decode(signed_text, "e", &e).message(), "e: damaged catalog entry: checksum mismatch");
  // A name that would break the line is refused when writing.
  e.name = "a\nb";
  EXPECT_EQ(e.Encode("e").status().code(), Code::kInvalidArgument);
}

TEST(OldTextFormats, S3UploadStateWithoutChecksumLineReadsAndIsWrittenWithOne) {
  const std::string text = Old("s3-upload.txt");
  S3UploadState u;
  ASSERT_TRUE(u.Decode(text, "s3-upload-x"));
  EXPECT_EQ(u.upload_id, "2~abcDEF-123");
  EXPECT_EQ(u.part_size, 16777216u);
  ASSERT_EQ(u.etags.size(), 2u);
  EXPECT_EQ(u.etags[2], "\"6f5902ac237024bdd0c176cb93063dc4\"");
  auto again = u.Encode("s3-upload-x");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->rfind(text, 0), 0u);  // the old text, then the trailer
  EXPECT_EQ(again->size(), text.size() + 26);
  S3UploadState back;
  EXPECT_TRUE(back.Decode(*again, "s3-upload-x"));
  EXPECT_EQ(back.etags, u.etags);
  std::string damaged = *again;
  damaged[20] ^= 1;
  EXPECT_FALSE(back.Decode(damaged, "s3-upload-x"));                      // now the checksum guards it
  EXPECT_FALSE(back.Decode(text + "part 99999 \"x\"\n", "s3-upload-x"));  // past S3's 10000 parts
  EXPECT_FALSE(back.Decode(text + "part 1 \"again\"\n", "s3-upload-x"));  // a part twice
  std::string big = text;
  big.replace(big.find("size 50331648"), 13, "size 18446744073709551616");
  EXPECT_FALSE(back.Decode(big, "s3-upload-x"));  // 2^64 is not a size
  big.replace(big.find("size 18446744073709551616"), 25, "size 18446744073709551615");
  EXPECT_TRUE(back.Decode(big, "s3-upload-x"));
}

}  // namespace
}  // namespace ddl
