#include "ddloop/exit_codes.h"

namespace ddl::cli {

int ExitCodeFor(Code c) {
  switch (c) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument: return kExitUsage;
    case Code::kIOError:
    case Code::kNotFound:
    case Code::kExists: return kExitIO;
    case Code::kCorruption:
    case Code::kTruncated: return kExitCorrupt;
    case Code::kUnsupported: return kExitUnsupported;
    case Code::kWrongBase:
    case Code::kMismatch: return kExitWrongBase;
    case Code::kBrokenChain: return kExitBrokenChain;
    case Code::kInterrupted: return kExitInterrupted;
    case Code::kRemote: return kExitRemote;
    case Code::kBusy: return kExitBusy;
    case Code::kForeign: return kExitForeign;
    case Code::kNeedsReseed: return kExitNeedsReseed;
  }
  return kExitFailure;
}

}  // namespace ddl::cli
