// cmd_attach.cc - `ddloop attach [--base IMG] DELTA... [--mount-fs DIR]`:
// serve the chain in a private directory, bind a device to it, optionally
// mount the filesystem inside (attach/attach.h); print the device.
#include <cstdio>
#include <memory>

#include "attach/attach.h"
#include "attach/run_program.h"
#include "ddloop/attach_and_print.h"
#include "ddloop/backend_options.h"
#include "ddloop/command.h"
#include "ddloop/exit_codes.h"
#include "ddloop/output.h"

namespace ddl::cli {

namespace {

struct AttachOptions {
  std::vector<std::string> deltas;
  std::string base;
  std::string cow;
  std::string mount_fs;
  std::string cache_size = "16M";
  attach::BackendFlags backend;
  bool json = false;
};

Status Run(const AttachOptions& o) {
  attach::AttachSpec spec;
  DDL_RETURN_IF_ERROR(SizeOption("--cache-size", o.cache_size, &spec.cache_bytes));
  spec.cache_size = o.cache_size;
  spec.base = o.base;
  spec.deltas = o.deltas;
  spec.cow = o.cow;
  spec.backend = o.backend;
  spec.mount_fs = o.mount_fs;
  return AttachAndPrint(spec, o.json, /*backend_note=*/true);
}

}  // namespace

Command SetupAttach(CLI::App& root) {
  auto o = std::make_shared<AttachOptions>();
  CLI::App* app = root.add_subcommand("attach", "Attach a base plus a chain of deltafiles as a loop device");
  app->add_option("deltas", o->deltas, "DELTA... in chain order")->required();
  app->add_option("--base", o->base, "Base image or block device (omit when the first delta is a seed)");
  app->add_option("--cow", o->cow, "Make the device writable; writes go to this sparse scratch file");
  app->add_option("--mount-fs", o->mount_fs, "Also mount the filesystem on the device here (read-only unless --cow)");
  app->add_option("--cache-size", o->cache_size, "Decoded records kept in memory (default 16M)");
  AddBackendOptions(app, &o->backend);
  app->add_flag("--json", o->json, "Print a JSON object instead of the device name");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
