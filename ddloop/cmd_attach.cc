// cmd_attach.cc - `ddloop attach [--base IMG] DELTA... [--mount-fs DIR]`:
// mount the chain (FUSE) in a private directory, bind a loop device to its
// disk, optionally mount the filesystem inside; print the loop device.
#include <cstdio>
#include <memory>

#include "ddloop/attachments.h"
#include "ddloop/command.h"
#include "ddloop/kernel_device.h"
#include "ddloop/open_chain.h"
#include "ddloop/output.h"
#include "ddloop/run_program.h"

namespace ddl::cli {

namespace {

struct AttachOptions {
  std::vector<std::string> deltas;
  std::string base;
  std::string cow;
  std::string mount_fs;
  std::string cache_size = "16M";
  bool kernel = false;
  bool fuse = false;
  bool json = false;
};


Status Run(const AttachOptions& o) {
  // Check everything we can before touching the system.
  uint64_t cache = 0;
  DDL_RETURN_IF_ERROR(SizeOption("--cache-size", o.cache_size, &cache));
  // An existing --cow file must fit this chain too. The check's shared lock
  // on the base is kept until the server (or the driver) holds its own, so
  // an apply cannot take the base in between: a busy base is refused here,
  // by this check, with exit 9.
  auto check = std::make_unique<OpenedChain>();
  DDL_RETURN_IF_ERROR(OpenChain(o.base, o.deltas, o.cow, /*create_cow=*/false, ChainOptions(), check.get()));
  DDL_RETURN_IF_ERROR(CheckMountFsDir(o.mount_fs));

  // Which path: the kernel driver when it is there (read-only), else FUSE.
  if (o.kernel && o.fuse) return InvalidArgument("--kernel and --fuse exclude each other");
  if (o.kernel && !o.cow.empty()) return InvalidArgument("--cow needs the FUSE path: the kernel driver is read-only");
  if (o.kernel && !KernelDriverAvailable())
    return IOError("/dev/ddloop-control: missing: load the kernel driver (modprobe ddloop; see kernel/README)");
  const bool use_kernel = o.kernel || (!o.fuse && o.cow.empty() && KernelDriverAvailable());
  const std::string why = use_kernel ? "using the kernel driver (/dev/ddloop-control)"
                          : o.fuse   ? "using FUSE + loop (--fuse)"
                          : !o.cow.empty() ? "using FUSE + loop (--cow needs it)"
                                           : "using FUSE + loop (no /dev/ddloop-control)";

  DDL_ASSIGN_OR_RETURN(Attachment a, NewAttachment());
  a.kind = use_kernel ? "kernel" : "fuse";
  a.base = AbsolutePath(o.base);
  a.cow = AbsolutePath(o.cow);
  for (const auto& d : o.deltas) a.deltas.push_back(AbsolutePath(d));
  std::vector<std::string> steps;
  auto fail = [&](Status s) {
    std::vector<std::string> undo;
    (void)Teardown(a, true, &undo);
    return s;
  };
  DDL_RETURN_IF_ERROR(SaveAttachment(a));

  if (use_kernel) {
    auto dev = KernelAttach(a.base, a.deltas, cache);
    if (!dev.ok()) return fail(dev.status());
    a.loop = *dev;
    DDL_RETURN_IF_ERROR(SaveAttachment(a));
  } else {
  std::vector<std::string> argv = {SelfExe(), "mount", "--log", a.dir + "/log", "--pid-file", a.dir + "/pid",
                                   "--cache-size", o.cache_size};
  if (!o.base.empty()) argv.insert(argv.end(), {"--base", a.base});
  if (!o.cow.empty()) argv.insert(argv.end(), {"--cow", a.cow});
  argv.insert(argv.end(), a.deltas.begin(), a.deltas.end());
  argv.push_back(a.FuseMount());
  Status started = StartServer(argv, &a);
  if (!started.ok()) return fail(started);
  }
  check.reset();  // the server or the driver holds the base's lock now
  Status bound = BindAndMount(&a, !o.cow.empty(), o.mount_fs);
  if (!bound.ok()) return fail(bound);
  if (!o.json) std::fprintf(stderr, "ddloop attach: %s\n", why.c_str());
  if (o.json) {
    Json j;
    j.Str("id", a.id).Str("kind", a.kind).Str("device", a.loop).Str("fs_mount", a.fs_mount).Str("fuse_mount", a.FuseMount())
        .Num("pid", static_cast<uint64_t>(a.pid)).Bool("writable", !o.cow.empty());
    std::printf("%s\n", j.Dump().c_str());
  } else {
    std::printf("%s\n", a.loop.c_str());
  }
  return Status::Ok();
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
  app->add_flag("--kernel", o->kernel, "Use the kernel driver (/dev/ddloopN); fail if it is not loaded");
  app->add_flag("--fuse", o->fuse, "Use FUSE + a loop device even when the kernel driver is loaded");
  app->add_flag("--json", o->json, "Print a JSON object instead of the device name");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
