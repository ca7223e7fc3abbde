// attach_and_print.cc - AttachAndPrint.
#include "ddloop/attach_and_print.h"

#include <cstdio>

#include "attach/run_program.h"
#include "ddloop/exit_codes.h"
#include "ddloop/output.h"

namespace ddl::cli {

Status AttachAndPrint(attach::AttachSpec spec, bool json, bool backend_note) {
  spec.server_exe = attach::SelfExe();
  spec.busy_exit = ExitCodeFor(Code::kBusy);
  DDL_ASSIGN_OR_RETURN(attach::Attached at, attach::Attach(spec));
  if (json) {
    Json j;
    attach::DescribeAttached(at, &j);
    std::printf("%s\n", j.Dump().c_str());
    return Status::Ok();
  }
  if (backend_note) std::fprintf(stderr, "ddloop attach: %s\n", at.backend_note.c_str());
  std::printf("%s\n", at.a.loop.c_str());
  return Status::Ok();
}

}  // namespace ddl::cli
