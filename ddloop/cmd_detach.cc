// cmd_detach.cc - `ddloop detach DEV|DIR|ID`: undo an attach, in order,
// including one whose server was killed.
#include <cstdio>
#include <memory>

#include "attach/kernel_device.h"
#include "attach/registry.h"
#include "attach/teardown.h"
#include "ddloop/command.h"

namespace ddl::cli {

namespace {

struct DetachOptions {
  std::vector<std::string> what;
  bool all = false;
  bool force = false;
  bool quiet = false;
};

Status Run(const DetachOptions& o) {
  std::vector<attach::Attachment> targets;
  if (o.all) {
    targets = attach::ListAttachments();
  } else {
    if (o.what.empty()) return InvalidArgument("give a device, a mount directory or an id (or --all)");
    for (const auto& w : o.what) {
      auto a = attach::FindAttachment(w);
      if (!a.ok() && attach::IsKernelDevice(w)) {  // a kernel device with no record here
        DDL_RETURN_IF_ERROR(attach::KernelDetach(w));
        if (!o.quiet) std::printf("detached %s\n", w.c_str());
        continue;
      }
      if (!a.ok()) return a.status();
      targets.push_back(*a);
    }
  }
  for (const attach::Attachment& a : targets) {
    std::vector<std::string> steps;
    Status s = attach::Teardown(a, o.force, &steps);
    if (!o.quiet)
      for (const auto& st : steps) std::fprintf(stderr, "ddloop detach: %s\n", st.c_str());
    DDL_RETURN_IF_ERROR(s);
    if (!o.quiet) std::printf("detached %s%s%s\n", a.id.c_str(), a.loop.empty() ? "" : " ", a.loop.c_str());
  }
  return Status::Ok();
}

}  // namespace

Command SetupDetach(CLI::App& root) {
  auto o = std::make_shared<DetachOptions>();
  CLI::App* app = root.add_subcommand("detach", "Undo an attach: filesystem, loop device, FUSE mount, server");
  app->add_option("what", o->what, "Loop device, --mount-fs directory, or attachment id");
  app->add_flag("--all", o->all, "Detach everything ddloop attached");
  app->add_flag("--force", o->force, "Detach a busy filesystem lazily instead of failing");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
