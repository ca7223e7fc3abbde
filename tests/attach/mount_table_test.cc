// mount_table_test.cc - ParseMountInfo: escapes, malformed lines, long lines.
#include "attach/mount_table.h"

#include <gtest/gtest.h>

namespace ddl::attach {
namespace {

TEST(MountTable, ParsesFieldsOfEachLine) {
  const std::string text =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "36 22 0:45 /sub /mnt/data rw,nosuid - fuse.ddloop ddloop rw,user_id=0\n";
  std::vector<MountEntry> m = ParseMountInfo(text);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].devno, "8:1");
  EXPECT_EQ(m[0].mount_point, "/");
  EXPECT_EQ(m[1].devno, "0:45");
  EXPECT_EQ(m[1].root, "/sub");
  EXPECT_EQ(m[1].mount_point, "/mnt/data");
}

TEST(MountTable, UnescapesOctal) {
  // The kernel writes a space as \040, a backslash as \134, a tab as \011.
  std::vector<MountEntry> m = ParseMountInfo("40 22 7:3 /a\\134b /mnt/my\\040disk\\011x rw - ext4 /dev/loop3 rw\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/mnt/my disk\tx");
  EXPECT_EQ(m[0].root, "/a\\b");
  EXPECT_EQ(UnescapeMountField("\\134040"), "\\040");  // unescaped once, not twice
}

TEST(MountTable, KeepsABackslashThatIsNotAnEscape) {
  EXPECT_EQ(UnescapeMountField("a\\9bc"), "a\\9bc");
  EXPECT_EQ(UnescapeMountField("a\\08"), "a\\08");      // 8 is not octal
  EXPECT_EQ(UnescapeMountField("end\\04"), "end\\04");  // too short at the end
  EXPECT_EQ(UnescapeMountField("\\"), "\\");
}

TEST(MountTable, SkipsMalformedLines) {
  const std::string text =
      "\n"
      "garbage\n"
      "1 2 3:4 /\n"                      // four fields
      "x 2 3:4 / /not-a-number-id rw\n"  // mount id not a number
      "1 y 3:4 / /not-a-number-parent rw\n"
      "1 2 nodev / /no-devno rw\n"
      "1 2 3: / /half-devno rw\n"
      "5 1 0:7 / /good rw - tmpfs tmpfs rw\n"
      "6 1 0:8 / /last-without-newline rw";
  std::vector<MountEntry> m = ParseMountInfo(text);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].mount_point, "/good");
  EXPECT_EQ(m[1].mount_point, "/last-without-newline");
}

TEST(MountTable, ReadsLongLines) {
  // Longer than any fixed buffer (the old reader stopped at 4095 bytes).
  std::string dir = "/" + std::string(100000, 'd') + "\\040end";
  std::vector<MountEntry> m =
      ParseMountInfo("1 2 0:9 / /short rw\n7 1 0:50 / " + dir + " rw - fuse x rw\n3 1 0:2 / /after rw\n");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].mount_point, "/" + std::string(100000, 'd') + " end");
  EXPECT_EQ(m[1].devno, "0:50");
  EXPECT_EQ(m[2].mount_point, "/after");
}

TEST(MountTable, ReadsTheRealTable) {
  auto t = ReadMountTable();
  ASSERT_TRUE(t.ok()) << t.status().message();
  bool root = false;
  for (const MountEntry& e : *t) root |= e.mount_point == "/";
  EXPECT_TRUE(root);
  EXPECT_TRUE(IsMountPoint("/"));
  EXPECT_FALSE(MountDeviceNumber("/").empty());
}

}  // namespace
}  // namespace ddl::attach
