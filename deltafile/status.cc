#include "deltafile/status.h"

namespace ddl {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kIOError: return "I/O error";
    case Code::kNotFound: return "not found";
    case Code::kCorruption: return "corrupt";
    case Code::kTruncated: return "truncated";
    case Code::kUnsupported: return "unsupported";
    case Code::kWrongBase: return "wrong base";
    case Code::kBrokenChain: return "broken chain";
    case Code::kMismatch: return "mismatch";
    case Code::kInterrupted: return "interrupted";
    case Code::kRemote: return "remote error";
    case Code::kExists: return "exists";
    case Code::kBusy: return "busy";
    case Code::kForeign: return "foreign";
    case Code::kNeedsReseed: return "needs reseed";
  }
  return "unknown";
}

}  // namespace ddl
