// duration_value.h - the one parser of durations on ddloop's command lines
// (`replica sync --watch 5m`, later retention's within=): a decimal number
// with an optional unit s, m, h, d or w ("90", "90s", "1.5h", "7d").
// Bounded: at most 10 years.
#pragma once

#include <string>

#include "deltafile/status.h"

namespace ddl {

// kInvalidArgument "OPTION: 'TEXT' is not a duration (e.g. 30s, 5m, 1h, 7d)".
Status ParseDuration(const std::string& option, const std::string& text, double* seconds);

}  // namespace ddl
