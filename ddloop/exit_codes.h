// exit_codes.h - the one mapping from errors to exit codes (documented in
// ddloop(8), EXIT STATUS).
#pragma once

#include "deltafile/status.h"

namespace ddl::cli {

enum ExitCode {
  kExitOk = 0,
  kExitFailure = 1,       // anything not listed below
  kExitUsage = 2,         // bad command line or impossible request
  kExitIO = 3,            // a file could not be opened, read or written
  kExitCorrupt = 4,       // a deltafile (or state file) is damaged or truncated
  kExitUnsupported = 5,   // a newer format version or unknown feature
  kExitWrongBase = 6,     // the image is not the delta's base
  kExitBrokenChain = 7,   // the deltas do not form a chain
  kExitRemote = 8,        // the network or a remote repository failed (push, pull, ls, rm)
  kExitBusy = 9,          // another process is using it (holds its lock): try again later
  kExitNeedsReseed = 10,  // nothing the replica holds is a base upstream: seed it again
  kExitForeign = 11,      // another volume's lineage: a foreign repository or replica
  kExitInterrupted = 130,
};

int ExitCodeFor(Code c);

}  // namespace ddl::cli
