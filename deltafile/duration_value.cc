#include "deltafile/duration_value.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace ddl {

Status ParseDuration(const std::string& option, const std::string& text, double* seconds) {
  auto bad = [&] {
    return InvalidArgument(option + ": '" + text.substr(0, 40) + "' is not a duration (e.g. 30s, 5m, 1h, 7d)");
  };
  if (text.empty() || text.size() > 32 || !(std::isdigit((unsigned char)text[0]))) return bad();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end);
  double mult = unit.empty() || unit == "s" ? 1
                : unit == "m"               ? 60
                : unit == "h"               ? 3600
                : unit == "d"               ? 86400
                : unit == "w"               ? 604800
                                            : -1;
  if (mult < 0 || !std::isfinite(v) || v < 0) return bad();
  v *= mult;
  if (v > 10 * 366 * 86400.0) return InvalidArgument(option + ": '" + text + "' is longer than 10 years");
  *seconds = v;
  return Status::Ok();
}

}  // namespace ddl
