// golden_set.h - the golden deltafiles of tests/golden: how they are made
// (make-golden writes them; golden_test checks the committed copies decode,
// fail as expected, and are what the writer still produces byte for byte).
#pragma once

#include <string>
#include <vector>

#include "deltafile/status.h"
#include "tests/test_util.h"

namespace ddl::test {

struct GoldenFile {
  std::string name;  // relative to tests/golden
  Bytes bytes;
};

// Invalid file expectation: VerifyDelta fails with `code` and a message
// containing `substring`.
struct InvalidExpectation {
  std::string name;
  Code code;
  std::string substring;
};

// Every golden file: valid/*.delta, valid/*.img, invalid/*.delta, and
// invalid/EXPECTED (one line per invalid file: name<TAB>code<TAB>substring).
std::vector<GoldenFile> BuildGoldenSet();
std::vector<InvalidExpectation> ParseExpected(const std::string& text);

}  // namespace ddl::test
