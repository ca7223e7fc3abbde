// attach_flow_test.cc - attach::Attach and attach::Teardown against a fake
// Runner (no root, nothing mounted): the steps happen in order, each is in
// the saved record, and a step that fails undoes the ones before it and
// leaves no record.
#include "attach/attach.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "attach/teardown.h"
#include "snapcore/volume.h"
#include "tests/attach/run_dir.h"
#include "tests/test_util.h"

namespace ddl::attach {
namespace {

std::string Real(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? buf : p;
}

// A system in memory. Every call that changes it is logged; a call whose
// log line starts with fail_on fails (all attempts of it: mount's retry too).
class FakeRunner : public Runner {
 public:
  std::vector<std::string> log;
  std::string fail_on = "never";
  bool kernel_driver = false;
  std::set<std::string> mounts;
  std::map<std::string, std::string> loops;  // device -> backing file
  std::set<std::string> kernel_devices;
  std::vector<std::string> kernel_deltas;  // as the last KernelAttach got them
  int server_pid = 0;
  std::string server_dir, server_mount;
  bool server_alive = false;
  int server_exit = 3;  // when the server step fails
  std::string server_err = "ddloop mount: cannot mount\n";

  bool Step(const std::string& what) {
    log.push_back(what);
    return what.rfind(fail_on, 0) != 0;
  }

  int Run(const std::vector<std::string>& argv, std::string* err) override {
    if (argv.at(0) == "mount") {
      std::string line = "mount";
      for (size_t i = 1; i < argv.size(); i++) line += " " + argv[i];
      if (!Step(line)) {
        *err = "mount: wrong fs type\n";
        return 32;
      }
      mounts.insert(Real(argv.back()));
      return 0;
    }
    // The server: `ddloop mount ...` or `ddloop volume mount ...`.
    if (!Step(argv.at(1) == "volume" ? "server volume" : "server chain")) {
      *err = server_err;
      return server_exit;
    }
    std::string pid_file, dir;
    for (size_t i = 1; i + 1 < argv.size(); i++)
      if (argv[i] == "--pid-file") pid_file = argv[i + 1];
    server_mount = Real(argv.back());
    server_dir = server_mount.substr(0, server_mount.rfind('/'));
    server_pid = 4242;
    server_alive = true;
    mounts.insert(server_mount);
    std::ofstream(pid_file) << server_pid << "\n";
    return 0;
  }
  bool IsMountPoint(const std::string& dir) override { return mounts.count(Real(dir)) != 0; }
  int Unmount(const std::string& dir, bool lazy) override {
    Step(std::string(lazy ? "umount -l " : "umount ") + dir);
    mounts.erase(Real(dir));
    if (Real(dir) == server_mount) server_alive = false;  // a server ends with its mount
    return 0;
  }
  Result<std::string> LoopAttach(const std::string& file, bool read_only, const std::string&) override {
    if (!Step(std::string("loop ") + (read_only ? "ro " : "rw ") + file)) return IOError("loop: no free device");
    loops["/dev/loop7"] = file;
    return std::string("/dev/loop7");
  }
  Status LoopDetach(const std::string& dev) override {
    Step("unloop " + dev);
    loops.erase(dev);
    return Status::Ok();
  }
  std::string LoopBackingFile(const std::string& dev) override {
    auto it = loops.find(dev);
    return it == loops.end() ? "" : it->second;
  }
  bool KernelDriverAvailable() override { return kernel_driver; }
  Result<std::string> KernelAttach(const std::string&, const std::vector<std::string>& deltas, uint64_t) override {
    kernel_deltas = deltas;
    if (!Step("kernel attach " + std::to_string(deltas.size()))) return IOError("/dev/ddloop-control: failed");
    kernel_devices.insert("/dev/ddloop0");
    return std::string("/dev/ddloop0");
  }
  Status KernelDetach(const std::string& dev) override {
    Step("kernel detach " + dev);
    kernel_devices.erase(dev);
    return Status::Ok();
  }
  bool ServerAlive(int pid, const std::string& dir) override {
    return server_alive && pid == server_pid && Real(dir) == server_dir;
  }
  void Kill(int pid, int sig) override {
    Step("kill " + std::to_string(pid) + " " + std::to_string(sig));
    server_alive = false;
  }

  // Nothing set up is left.
  bool Clean() const { return mounts.empty() && loops.empty() && kernel_devices.empty() && !server_alive; }
};

class AttachFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir(run_.path().c_str(), 0700);
    delta_ = run_.dir() + "/seed.delta";
    test::WriteFileBytes(delta_, test::MakeDelta(nullptr, test::RandomBytes(256 << 10, 7)));
    fs_ = run_.dir() + "/fs";
    ::mkdir(fs_.c_str(), 0755);
  }
  AttachSpec ChainSpec() {
    AttachSpec s;
    s.deltas = {delta_};
    s.server_exe = "/usr/sbin/ddloop";
    s.mount_fs = fs_;
    return s;
  }
  size_t Records() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(run_.path()))
      n += e.path().filename().string().rfind("ddl-", 0) == 0;
    return n;
  }

  TempRunDir run_;
  std::string delta_, fs_;
  FakeRunner r_;
};

// The driver takes the chain in order: a shuffled chain reaches it ordered,
// and the record and the server's command line list it so.
TEST_F(AttachFlow, ShuffledChainReachesTheDriverAndTheRecordInChainOrder) {
  test::Bytes v0 = test::RandomBytes(256 << 10, 7), v1 = v0, v2;
  std::fill(v1.begin() + 1000, v1.begin() + 70000, 0x5a);
  v2 = v1;
  std::fill(v2.begin() + 100000, v2.begin() + 140000, 0xa5);
  const std::string d1 = run_.dir() + "/d1.delta", d2 = run_.dir() + "/d2.delta";
  test::WriteFileBytes(d1, test::MakeDelta(&v0, v1));
  test::WriteFileBytes(d2, test::MakeDelta(&v1, v2));
  AttachSpec s = ChainSpec();
  s.deltas = {d2, delta_, d1};
  r_.kernel_driver = true;
  auto at = Attach(s, &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  const std::vector<std::string> ordered = {Real(delta_), Real(d1), Real(d2)};
  EXPECT_EQ(r_.kernel_deltas, ordered);
  EXPECT_EQ(at->a.deltas, ordered);
}

TEST_F(AttachFlow, ChainOverFuseInOrderThenTeardownInReverse) {
  auto at = Attach(ChainSpec(), &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  const Attachment& a = at->a;
  const std::vector<std::string> want = {"server chain", "loop ro " + a.dir + "/mnt/disk",
                                         "mount -o ro /dev/loop7 " + fs_};
  EXPECT_EQ(r_.log, want);
  EXPECT_EQ(at->backend_note, "using FUSE + loop (no /dev/ddloop-control)");
  EXPECT_FALSE(at->writable);

  // The record says everything Teardown needs.
  auto saved = LoadAttachment(a.dir);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_EQ(saved->kind, kKindFuse);
  EXPECT_EQ(saved->pid, 4242);
  EXPECT_EQ(saved->loop, "/dev/loop7");
  EXPECT_EQ(saved->fs_mount, Real(fs_));
  EXPECT_EQ(saved->deltas, std::vector<std::string>{delta_});
  EXPECT_TRUE(Healthy(*saved, &r_));

  r_.log.clear();
  std::vector<std::string> steps;
  ASSERT_TRUE(Teardown(*saved, false, &steps, &r_).ok());
  const std::vector<std::string> undo = {"umount " + Real(fs_), "unloop /dev/loop7", "umount " + a.dir + "/mnt"};
  EXPECT_EQ(r_.log, undo);
  EXPECT_EQ(steps.size(), 3u);
  EXPECT_TRUE(r_.Clean());
  EXPECT_EQ(Records(), 0u);
}

// replica serve's mounts: its -o options follow "ro" (and "ro,norecovery"
// when that fails), and the record names the owner that cleans it up.
TEST_F(AttachFlow, MountOptionsFollowReadOnlyAndTheOwnerIsRecorded) {
  AttachSpec s = ChainSpec();
  s.mount_options = "noatime,nodev";
  s.owner = "replica serve /srv/r";
  auto at = Attach(s, &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_EQ(r_.log.back(), "mount -o ro,noatime,nodev /dev/loop7 " + fs_);
  auto saved = LoadAttachment(at->a.dir);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  EXPECT_EQ(saved->owner, "replica serve /srv/r");

  FakeRunner r;
  r.fail_on = "mount -o ro,noatime";  // the first try; the norecovery one works
  at = Attach(s, &r);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_EQ(r.log.back(), "mount -o ro,norecovery,noatime,nodev /dev/loop7 " + fs_);
}

TEST_F(AttachFlow, AFailingStepUndoesTheStepsBeforeIt) {
  struct Case {
    std::string fail_on;
    std::vector<std::string> after;  // what the log holds after the failing step
  } cases[] = {
      {"server", {}},
      {"loop", {"umount MNT"}},
      {"mount", {"mount -o ro,norecovery /dev/loop7 FS", "unloop /dev/loop7", "umount MNT"}},
  };
  for (const Case& c : cases) {
    FakeRunner r;
    r.fail_on = c.fail_on;
    auto at = Attach(ChainSpec(), &r);
    ASSERT_FALSE(at.ok()) << c.fail_on;
    // The log: the steps up to the failing one, then the undo, in reverse.
    size_t k = 0;
    while (k < r.log.size() && r.log[k].rfind(c.fail_on, 0) != 0) k++;
    ASSERT_LT(k, r.log.size()) << c.fail_on;
    std::vector<std::string> after(r.log.begin() + long(k) + 1, r.log.end());
    for (std::string& s : after) {
      if (size_t p = s.find(run_.path()); p != std::string::npos) s = s.substr(0, p) + "MNT";
      if (size_t p = s.find(fs_); p != std::string::npos) s = s.substr(0, p) + "FS";
    }
    EXPECT_EQ(after, c.after) << c.fail_on;
    EXPECT_TRUE(r.Clean()) << c.fail_on;
    EXPECT_EQ(Records(), 0u) << c.fail_on;
  }
}

TEST_F(AttachFlow, ErrorsOfEachStepReachTheCaller) {
  r_.fail_on = "server";
  auto s = Attach(ChainSpec(), &r_);
  EXPECT_EQ(s.status().code(), Code::kIOError);
  EXPECT_EQ(s.status().message(), "cannot start the FUSE server: ddloop mount: cannot mount");

  FakeRunner busy;
  busy.fail_on = "server";
  busy.server_exit = 9;
  busy.server_err = "some log line\nddloop mount: /img/base: busy: locked by apply (pid 7)\n";
  s = Attach(ChainSpec(), &busy);
  EXPECT_EQ(s.status().code(), Code::kBusy);
  EXPECT_EQ(s.status().message(), "/img/base: busy: locked by apply (pid 7)");

  FakeRunner mount;
  mount.fail_on = "mount";
  s = Attach(ChainSpec(), &mount);
  EXPECT_EQ(s.status().message(), fs_ + ": cannot mount the filesystem on /dev/loop7: mount: wrong fs type");
}

TEST_F(AttachFlow, KernelBackendWhenLoadedAndTheChoiceRules) {
  r_.kernel_driver = true;
  auto at = Attach(ChainSpec(), &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_EQ(at->a.kind, kKindKernel);
  EXPECT_EQ(at->backend_note, "using the kernel driver (/dev/ddloop-control)");
  EXPECT_EQ(r_.log, (std::vector<std::string>{"kernel attach 1", "mount -o ro /dev/ddloop0 " + fs_}));

  FakeRunner failing;
  failing.kernel_driver = true;
  failing.fail_on = "mount";
  ASSERT_FALSE(Attach(ChainSpec(), &failing).ok());
  EXPECT_EQ(failing.log.back(), "kernel detach /dev/ddloop0");
  EXPECT_TRUE(failing.Clean());

  AttachSpec both = ChainSpec();
  both.backend.kernel = both.backend.fuse = true;
  FakeRunner none;
  EXPECT_EQ(Attach(both, &none).status().message(), "--kernel and --fuse exclude each other");
  AttachSpec kernel_cow = ChainSpec();
  kernel_cow.backend.kernel = true;
  kernel_cow.cow = run_.dir() + "/scratch.cow";
  EXPECT_EQ(Attach(kernel_cow, &none).status().message(), "--cow needs the FUSE path: the kernel driver is read-only");
  AttachSpec kernel = ChainSpec();
  kernel.backend.kernel = true;
  EXPECT_EQ(Attach(kernel, &none).status().code(), Code::kIOError);  // no driver
  EXPECT_TRUE(none.log.empty());                                     // refused before any step
  EXPECT_EQ(Records(), 1u);                                          // only the successful kernel attach above
}

TEST_F(AttachFlow, CowIsWritableOverFuse) {
  r_.kernel_driver = true;  // a COW overlay needs FUSE even so
  AttachSpec s = ChainSpec();
  s.cow = run_.dir() + "/scratch.cow";
  auto at = Attach(s, &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_TRUE(at->writable);
  EXPECT_EQ(at->backend_note, "using FUSE + loop (--cow needs it)");
  EXPECT_EQ(r_.log[1], "loop rw " + at->a.dir + "/mnt/disk");
  EXPECT_EQ(r_.log[2], "mount /dev/loop7 " + fs_);
}

TEST_F(AttachFlow, ChecksBeforeTouchingTheSystem) {
  AttachSpec s = ChainSpec();
  s.mount_fs = run_.dir() + "/missing";
  EXPECT_EQ(Attach(s, &r_).status().message(), s.mount_fs + ": not a directory");
  r_.mounts.insert(Real(fs_));
  EXPECT_EQ(Attach(ChainSpec(), &r_).status().message(), fs_ + ": something is already mounted there");
  s = ChainSpec();
  s.deltas = {run_.dir() + "/no-such.delta"};
  EXPECT_FALSE(Attach(s, &r_).ok());
  EXPECT_TRUE(r_.log.empty());
  EXPECT_EQ(Records(), 0u);
}

TEST_F(AttachFlow, VolumeLiveAndSnapshot) {
  const std::string vdir = run_.dir() + "/vol";
  vol::CreateOptions co;
  co.size = 1 << 20;
  ASSERT_TRUE(vol::Volume::Create(Env::Posix(), vdir, co).ok());
  AttachSpec s;
  s.volume = vdir;
  s.server_exe = "/usr/sbin/ddloop";
  auto at = Attach(s, &r_);
  ASSERT_TRUE(at.ok()) << at.status().message();
  EXPECT_TRUE(at->writable);
  EXPECT_EQ(at->a.volume, Real(vdir));
  EXPECT_EQ(r_.log, (std::vector<std::string>{"server volume", "loop rw " + at->a.dir + "/mnt/disk"}));

  s.snapshot = "nope";
  FakeRunner r2;
  auto missing = Attach(s, &r2);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), Real(vdir) + ": no snapshot 'nope'");
  EXPECT_TRUE(r2.log.empty());

  // A volume whose server dies with its FUSE mount: teardown needs no kill.
  auto saved = LoadAttachment(at->a.dir);
  ASSERT_TRUE(saved.ok());
  std::vector<std::string> steps;
  ASSERT_TRUE(Teardown(*saved, false, &steps, &r_).ok());
  EXPECT_TRUE(r_.Clean());
  EXPECT_EQ(Records(), 0u);
}

TEST_F(AttachFlow, TeardownStopsAServerThatOutlivesItsMount) {
  auto at = Attach(ChainSpec(), &r_);
  ASSERT_TRUE(at.ok());
  r_.server_mount = "/elsewhere";  // unmounting no longer ends it
  std::vector<std::string> steps;
  ASSERT_TRUE(Teardown(at->a, false, &steps, &r_).ok());
  EXPECT_EQ(r_.log.back(), "kill 4242 15");
  EXPECT_EQ(steps.back(), "stopped server 4242");
  EXPECT_TRUE(r_.Clean());
}

struct FakeJson {
  std::vector<std::string> keys;
  FakeJson& Str(const std::string& k, const std::string&) { return Key(k); }
  FakeJson& Num(const std::string& k, uint64_t) { return Key(k); }
  FakeJson& Bool(const std::string& k, bool) { return Key(k); }
  FakeJson& Key(const std::string& k) {
    keys.push_back(k);
    return *this;
  }
};

TEST(DescribeAttached, FieldsInTheOrderTheCommandsPrint) {
  Attached chain;
  FakeJson j;
  DescribeAttached(chain, &j);
  EXPECT_EQ(j.keys, (std::vector<std::string>{"id", "kind", "device", "fs_mount", "fuse_mount", "pid", "writable"}));
  Attached volume;
  volume.a.volume = "/v";
  FakeJson k;
  DescribeAttached(volume, &k);
  EXPECT_EQ(k.keys, (std::vector<std::string>{"id", "volume", "snapshot", "device", "fs_mount", "fuse_mount", "pid",
                                              "writable"}));
}

}  // namespace
}  // namespace ddl::attach
