// transport_url_test.cc - RedactUrl and SplitUserinfo: a password never
// survives into a message, whatever it holds ('/', '@', ':').
#include <gtest/gtest.h>

#include "backup/transport.h"

namespace ddl {
namespace {

TEST(RedactUrl, RemovesPlainUserinfo) {
  EXPECT_EQ(RedactUrl("http://alice:secret@host:8080/repo"), "http://host:8080/repo");
  EXPECT_EQ(RedactUrl("https://alice@host/repo"), "https://host/repo");
  EXPECT_EQ(RedactUrl("http://host/repo"), "http://host/repo");
  EXPECT_EQ(RedactUrl("http://host:8080/a@b"), "http://host:8080/a@b");  // '@' in a path after a port
}

TEST(RedactUrl, PasswordWithSlash) {
  EXPECT_EQ(RedactUrl("http://alice:Zq9/x7pw@127.0.0.1:8080/auth/repo"), "http://127.0.0.1:8080/auth/repo");
  EXPECT_EQ(RedactUrl("http://alice:a/b/c@host/repo"), "http://host/repo");
}

TEST(RedactUrl, PasswordWithAt) {
  EXPECT_EQ(RedactUrl("http://alice:p@ss@host/repo"), "http://host/repo");
  EXPECT_EQ(RedactUrl("http://alice:p/a@ss@host/repo"), "http://host/repo");
}

TEST(SplitUserinfo, GivesTheCredentialsAndTheRest) {
  std::string u, rest;
  ASSERT_TRUE(SplitUserinfo("http://alice:Zq9/x7pw@127.0.0.1:8080/auth/repo", &u, &rest));
  EXPECT_EQ(u, "alice:Zq9/x7pw");
  EXPECT_EQ(rest, "http://127.0.0.1:8080/auth/repo");
  EXPECT_FALSE(SplitUserinfo("http://127.0.0.1:8080/auth/repo", &u, &rest));
  EXPECT_FALSE(SplitUserinfo("file:///srv/repo", &u, &rest));
}

}  // namespace
}  // namespace ddl
