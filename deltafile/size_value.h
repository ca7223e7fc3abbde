// size_value.h - the one parser of sizes given by people ("64K", "1G",
// "65536"): every size option of every command goes through SizeOption,
// so a value that does not fit is an error at parse time (exit 2, one
// line), never an exception. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "deltafile/status.h"

namespace ddl {

// Parses "65536", "64K", "64KiB", "64k", "1M", "2G", "1T" (optionally "B"
// for bytes): decimal digits, then at most one suffix, nothing else (no
// sign, no spaces, no fraction). kTooLarge when the value (after the
// suffix) does not fit in 64 bits, kJunk on anything else that is not a
// size; *out is set only on kOk.
enum class SizeParse { kOk, kJunk, kTooLarge };
SizeParse ParseSizeValue(const std::string& s, uint64_t* out);
// The same, false on junk or a value too large.
bool ParseSize(const std::string& s, uint64_t* out);
// The value of a size option, or the one-line error (kInvalidArgument) for it:
// "--block-size 99999999999999999999: too large (the most is 16 EiB)" or
// "--size 12Q: not a size (e.g. 65536, 64K, 1G)".
Status SizeOption(const std::string& option, const std::string& value, uint64_t* out);

}  // namespace ddl
