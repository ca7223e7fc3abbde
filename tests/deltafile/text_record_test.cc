// text_record_test - the codec of ddloop's small text files
// (deltafile/text_record.h): round trip, and every way a file can be
// damaged or hostile giving one line that names the file.
#include <string>

#include <gtest/gtest.h>

#include "deltafile/hex.h"
#include "deltafile/text_record.h"

namespace ddl {
namespace {

TextFormat Format() {
  TextFormat f;
  f.magic = "ddloop-test 1";
  f.what = "test record";
  f.max_bytes = 1024;
  f.max_line = 128;
  f.max_lines = 8;
  f.repeatable = {"deltas"};
  return f;
}

// `body` (magic and fields) with the right trailer.
std::string Signed(const std::string& body) {
  return body + "checksum " + Hex64(Xxh64(body.data(), body.size())) + "\n";
}

std::string Error(const std::string& text, const TextFormat& f = Format()) {
  auto r = TextRecord::Parse(text, "/run/x/state", f);
  if (r.ok()) return "<parsed>";
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  const std::string m = r.status().message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_EQ(m.rfind("/run/x/state: damaged test record: ", 0), 0u) << m;
  return m.substr(std::string("/run/x/state: damaged test record: ").size());
}

TEST(TextRecord, RoundTripKeepsOrderTypesAndRepeatedKeys) {
  Fingerprint fp;
  fp.lane[0] = 1, fp.lane[3] = 0xfedcba9876543210ull;
  const Uuid u = Uuid::Random();
  TextWriter w(Format());
  w.Add("name", "a b\tc").AddU64("size", UINT64_MAX).AddHex64("csum", 0x2a);
  w.Add("deltas", "d1").Add("deltas", "d2").Add("empty", "");
  auto text = w.Finish("x");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(text->size(), w.size());
  EXPECT_EQ(text->rfind("ddloop-test 1\nname a b\tc\nsize 18446744073709551615\ncsum 000000000000002a\n", 0), 0u)
      << *text;

  auto r = TextRecord::Parse(*text, "x", Format());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->had_checksum());
  std::string s;
  uint64_t v = 0;
  ASSERT_TRUE(r->GetString("name", &s).ok());
  EXPECT_EQ(s, "a b\tc");
  ASSERT_TRUE(r->GetU64("size", &v).ok());
  EXPECT_EQ(v, UINT64_MAX);
  ASSERT_TRUE(r->GetHex64("csum", &v).ok());
  EXPECT_EQ(v, 0x2au);
  EXPECT_EQ(r->All("deltas"), (std::vector<std::string>{"d1", "d2"}));
  ASSERT_TRUE(r->GetString("empty", &s).ok());
  EXPECT_EQ(s, "");
  EXPECT_EQ(r->fields().size(), 6u);

  TextWriter w2(Format());
  w2.AddFingerprint("fp", fp).AddUuid("uuid", u);
  auto t2 = w2.Finish("x");
  ASSERT_TRUE(t2.ok());
  auto r2 = TextRecord::Parse(*t2, "x", Format());
  ASSERT_TRUE(r2.ok());
  Fingerprint fp2;
  Uuid u2;
  ASSERT_TRUE(r2->GetFingerprint("fp", &fp2).ok());
  ASSERT_TRUE(r2->GetUuid("uuid", &u2).ok());
  EXPECT_TRUE(fp2 == fp);
  EXPECT_TRUE(u2 == u);
}

TEST(TextRecord, EveryFlippedByteIsRefused) {
  TextWriter w(Format());
  w.Add("name", "img").AddU64("size", 4096);
  const std::string text = *w.Finish("x");
  for (size_t i = 0; i < text.size(); i++) {
    for (uint8_t bit : {0x01, 0x04, 0x20}) {
      std::string t = text;
      t[i] = static_cast<char>(t[i] ^ bit);
      EXPECT_NE(Error(t), "<parsed>") << "byte " << i << " bit " << int(bit);
    }
  }
}

TEST(TextRecord, DamagedChecksumIsNamed) {
  std::string t = Signed("ddloop-test 1\nname img\n");
  t[t.size() - 2] = t[t.size() - 2] == '0' ? '1' : '0';
  EXPECT_EQ(Error(t), "checksum mismatch");
  EXPECT_EQ(Error("ddloop-test 1\nname img\n"), "no checksum line");
  EXPECT_EQ(Error("ddloop-test 1\nname img\nchecksum 12345678\n"), "bad checksum line 'checksum 12345678'");
  // 17 digits is not a checksum
  EXPECT_EQ(Error("ddloop-test 1\nname img\nchecksum 00000000000000000\n"),
            "bad checksum line 'checksum 00000000000000000'");
}

TEST(TextRecord, TruncatedFileIsRefusedAtEveryLength) {
  const std::string text = Signed("ddloop-test 1\nname img\nsize 4096\n");
  EXPECT_EQ(Error(""), "empty");
  for (size_t n = 1; n < text.size(); n++) EXPECT_NE(Error(text.substr(0, n)), "<parsed>") << n;
  EXPECT_EQ(Error(text.substr(0, text.size() - 1)), "truncated (no newline at the end)");
}

TEST(TextRecord, OversizedNumbersAreErrorsNotWraps) {
  auto get = [](const std::string& key, const std::string& value) {
    auto r = TextRecord::Parse(Signed("ddloop-test 1\n" + key + " " + value + "\n"), "x", Format());
    EXPECT_TRUE(r.ok()) << r.status().message();
    uint64_t v = 7;
    Status s = key == "n" ? r->GetU64("n", &v) : r->GetHex64("h", &v);
    if (!s.ok()) {
      EXPECT_EQ(v, 7u) << "set on error";
    }
    return s.ok() ? std::string("ok") : s.message();
  };
  EXPECT_EQ(get("n", "18446744073709551615"), "ok");
  EXPECT_EQ(get("n", "18446744073709551616"),
            "x: damaged test record: n '18446744073709551616' is not a decimal number below 2^64");
  EXPECT_NE(get("n", "99999999999999999999999"), "ok");
  for (const char* bad : {"-1", "+1", " 1", "1 ", "0x10", "1e3", ""}) EXPECT_NE(get("n", bad), "ok") << bad;
  EXPECT_EQ(get("h", "ffffffffffffffff"), "ok");
  EXPECT_EQ(get("h", "0ffffffffffffffff"), "x: damaged test record: h '0ffffffffffffffff' is not 16 hex digits");
  for (const char* bad : {"fff", "-fffffffffffffff", "0x00000000000000", "ggggggggggggggggg"})
    EXPECT_NE(get("h", bad), "ok") << bad;
}

TEST(TextRecord, BoundsAreCheckedBeforeAnythingIsStored) {
  std::string long_value(130, 'v');
  EXPECT_EQ(Error(Signed("ddloop-test 1\nname " + long_value + "\n")), "line 2 is longer than 128 bytes");
  std::string many = "ddloop-test 1\n";
  for (int i = 0; i < 8; i++) many += "deltas d" + std::to_string(i) + "\n";
  EXPECT_EQ(Error(Signed(many)), "more than 8 lines");
  EXPECT_EQ(Error(std::string(1025, '\n')), "larger than 1024 bytes (1025)");
  // The writer refuses what the reader would.
  TextWriter w(Format());
  w.Add("name", long_value);
  EXPECT_EQ(w.Finish("out").status().message(),
            "out: cannot write test record: the 'name' line is longer than 128 bytes");
  TextWriter w2(Format());
  for (int i = 0; i < 7; i++) w2.Add("deltas", "d");
  EXPECT_EQ(w2.Finish("out").status().message(), "out: cannot write test record: more than 8 lines");
}

TEST(TextRecord, DuplicateKeyIsRefusedUnlessRepeatable) {
  EXPECT_EQ(Error(Signed("ddloop-test 1\nname a\nname b\n")), "key 'name' appears twice");
  EXPECT_EQ(Error(Signed("ddloop-test 1\ndeltas a\ndeltas b\n")), "<parsed>");
  TextWriter w(Format());
  w.Add("name", "a").Add("name", "b");
  EXPECT_EQ(w.Finish("out").status().message(), "out: cannot write test record: key 'name' added twice");
}

TEST(TextRecord, MissingKeyIsNamed) {
  auto r = TextRecord::Parse(Signed("ddloop-test 1\nname a\n"), "x", Format());
  ASSERT_TRUE(r.ok());
  uint64_t v = 0;
  EXPECT_EQ(r->GetU64("size", &v).message(), "x: damaged test record: no 'size' line");
  EXPECT_FALSE(r->Has("size"));
}

TEST(TextRecord, CrlfNulAndOtherControlBytesAreRefused) {
  EXPECT_EQ(Error(Signed("ddloop-test 1\r\nname a\n")), "unknown format 'ddloop-test 1?'");
  EXPECT_EQ(Error(Signed("ddloop-test 1\nname a\r\n")), "line 2 has a control character");
  EXPECT_EQ(Error(Signed(std::string("ddloop-test 1\nname a\0b\n", 23))), "line 2 has a control character");
  EXPECT_EQ(Error(Signed("ddloop-test 1\nname a\x1b[2J\n")), "line 2 has a control character");
  // and the writer never writes them
  for (const char* v : {"a\nb", "a\rb", "a\x7f"}) {
    TextWriter w(Format());
    w.Add("name", v);
    EXPECT_EQ(w.Finish("out").status().message(),
              "out: cannot write test record: the value of 'name' has a control character");
  }
  TextWriter w(Format());
  w.Add("name", std::string("a\0b", 3));
  EXPECT_FALSE(w.Finish("out").ok());
}

TEST(TextRecord, KeysAreLowercaseWords) {
  EXPECT_EQ(Error(Signed("ddloop-test 1\nName a\n")), "malformed line 2 'Name a'");
  EXPECT_EQ(Error(Signed("ddloop-test 1\nnovalue\n")), "malformed line 2 'novalue'");
  EXPECT_EQ(Error(Signed("ddloop-test 1\n a\n")), "malformed line 2 ' a'");
  EXPECT_EQ(Error(Signed("ddloop-other 1\nname a\n")), "unknown format 'ddloop-other 1'");
  TextWriter w(Format());
  w.Add("a-b", "x");
  EXPECT_EQ(w.Finish("out").status().message(), "out: cannot write test record: key 'a-b' is not [a-z0-9_]+");
}

TEST(TextRecord, OldFilesWithoutTrailerOnlyWhereTheFormatSaysSo) {
  TextFormat old = Format();
  old.accept_no_checksum = true;
  const std::string text = "ddloop-test 1\nname a\nchecksum xxh64:0123456789abcdef\n";
  auto r = TextRecord::Parse(text, "x", old);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->had_checksum());
  EXPECT_EQ(*r->Find("checksum"), "xxh64:0123456789abcdef");  // a field, not the trailer
  EXPECT_EQ(Error(text), "bad checksum line 'checksum xxh64:0123456789abcdef'");
  // a trailer, when there is one, is still checked
  std::string t = Signed("ddloop-test 1\nname a\n");
  t[16] = 'b';
  EXPECT_EQ(Error(t, old), "checksum mismatch");
  // an old file is read only if it can be written back with a trailer
  std::string full = "ddloop-test 1\n";
  for (int i = 0; i < 7; i++) full += "deltas d\n";
  EXPECT_EQ(Error(full, old), "more than 8 lines");
  std::string big = "ddloop-test 1\n";
  while (big.size() + 26 <= 1024) big += "deltas " + std::string(100, 'x') + "\n";
  EXPECT_NE(Error(big, old), "<parsed>");
  // and a format written without it writes none
  old.write_checksum = false;
  TextWriter w(old);
  w.Add("name", "a");
  EXPECT_EQ(*w.Finish("x"), "ddloop-test 1\nname a\n");
}

}  // namespace
}  // namespace ddl
