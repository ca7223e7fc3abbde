// make_golden_volume - writes the golden volume into DIR/vol and its content
// hashes into DIR/EXPECTED (DIR is tests/golden/volume). Run it only when
// the volume format changes on purpose (see DIR/README); golden_volume_test
// fails if the committed files differ from what the code writes.
#include <cstdio>

#include "deltafile/io.h"
#include "tests/golden/golden_volume.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-golden-volume DIR (remove DIR/vol first)\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<ddl::test::GoldenContent> expected;
  ddl::Status s = ddl::test::BuildGoldenVolume(ddl::Env::Posix(), dir + "/vol", &expected);
  if (s.ok()) s = ddl::WriteFileAtomic(ddl::Env::Posix(), dir + "/EXPECTED", ddl::test::FormatGoldenExpected(expected));
  if (!s.ok()) {
    std::fprintf(stderr, "make-golden-volume: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
