// make_golden - writes the golden set into DIR (tests/golden). Run it only
// when the format changes on purpose; golden_test fails if the committed
// files differ from what the writer produces.
#include <cstdio>
#include <filesystem>

#include "tests/golden/golden_set.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-golden DIR\n");
    return 2;
  }
  for (const auto& g : ddl::test::BuildGoldenSet()) {
    const std::filesystem::path p = std::filesystem::path(argv[1]) / g.name;
    std::filesystem::create_directories(p.parent_path());
    ddl::test::WriteFileBytes(p.string(), g.bytes);
  }
  return 0;
}
