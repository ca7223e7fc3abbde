// attach_and_print.h - what `attach` and `volume attach` do once their
// options are parsed: attach::Attach, then print the device (or --json the
// attachment). Called from the main thread.
#pragma once

#include "attach/attach.h"
#include "deltafile/status.h"

namespace ddl::cli {

// Fills in what every attach spec needs from the command (the server
// binary, the busy exit code), attaches, and prints. `backend_note`: say
// on stderr which backend was chosen (only `attach` has a choice).
Status AttachAndPrint(attach::AttachSpec spec, bool json, bool backend_note);

}  // namespace ddl::cli
