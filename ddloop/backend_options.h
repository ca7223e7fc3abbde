// backend_options.h - the --kernel / --fuse pair that picks how a chain is
// served (attach/attach.h BackendFlags), registered the same way wherever a
// command offers it.
#pragma once

#include <CLI/CLI.hpp>

#include "attach/attach.h"

namespace ddl::cli {

inline void AddBackendOptions(CLI::App* app, attach::BackendFlags* b) {
  app->add_flag("--kernel", b->kernel, "Use the kernel driver (/dev/ddloopN); fail if it is not loaded");
  app->add_flag("--fuse", b->fuse, "Use FUSE + a loop device even when the kernel driver is loaded");
}

}  // namespace ddl::cli
