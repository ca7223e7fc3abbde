// fuse_disk.cc - the FUSE glue of `ddloop mount` and `ddloop volume
// attach`. Only translation between FUSE callbacks and a DiskSource lives
// here.
#define FUSE_USE_VERSION 312
#include "attach/fuse_disk.h"

#include <fuse.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>

#include "attach/mount_table.h"

namespace ddl::attach {

ServerLog::ServerLog(std::string who, std::string file, std::function<std::string()> stamp)
    : who_(std::move(who)), file_(std::move(file)), stamp_(std::move(stamp)) {
  openlog("ddloop", LOG_PID, LOG_DAEMON);
}

void ServerLog::operator()(const std::string& line) {
  std::lock_guard<std::mutex> l(mu_);
  syslog(LOG_ERR, "%s", line.c_str());
  if (!file_.empty()) {
    if (FILE* f = std::fopen(file_.c_str(), "a")) {
      std::fprintf(f, "%s %s: %s\n", stamp_().c_str(), who_.c_str(), line.c_str());
      std::fclose(f);
    }
  }
  std::fprintf(stderr, "%s: %s\n", who_.c_str(), line.c_str());
}

namespace {

constexpr const char* kDisk = "/disk";

struct DiskFs {
  DiskSource* disk;
  uint64_t size;
  time_t mtime;
  std::function<void(const std::string&)> log;
};

DiskFs* Fs() { return static_cast<DiskFs*>(fuse_get_context()->private_data); }

void* DiskInit(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  cfg->kernel_cache = 1;  // all changes go through this mount: the cache stays valid
  cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 86400;
  cfg->use_ino = 1;
  conn->max_read = 1 << 20;  // must match the max_read mount option
  conn->max_readahead = 1 << 20;
  // Replies come from our buffers: splicing them would add a pipe copy.
  conn->want &= ~(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  return fuse_get_context()->private_data;
}

int DiskGetattr(const char* path, struct stat* st, struct fuse_file_info*) {
  DiskFs* fs = Fs();
  std::memset(st, 0, sizeof *st);
  st->st_mtime = st->st_ctime = st->st_atime = fs->mtime;
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    st->st_ino = 1;
    return 0;
  }
  if (std::strcmp(path, kDisk) != 0) return -ENOENT;
  st->st_mode = S_IFREG | (fs->disk->writable() ? 0644 : 0444);
  st->st_nlink = 1;
  st->st_ino = 2;
  st->st_size = static_cast<off_t>(fs->size);
  st->st_blksize = 4096;
  st->st_blocks = static_cast<blkcnt_t>((fs->size + 511) / 512);
  return 0;
}

int DiskReaddir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, struct fuse_file_info*,
                enum fuse_readdir_flags) {
  if (std::strcmp(path, "/") != 0) return -ENOENT;
  fill(buf, ".", nullptr, 0, FUSE_FILL_DIR_PLUS);
  fill(buf, "..", nullptr, 0, FUSE_FILL_DIR_PLUS);
  fill(buf, "disk", nullptr, 0, FUSE_FILL_DIR_PLUS);
  return 0;
}

int DiskOpen(const char* path, struct fuse_file_info* fi) {
  if (std::strcmp(path, kDisk) != 0) return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY && !Fs()->disk->writable()) return -EROFS;
  fi->keep_cache = 1;
  return 0;
}

int ReadOrThrow(const char* path, char* buf, size_t n, off_t off) {
  if (std::strcmp(path, kDisk) != 0) return -ENOENT;
  DiskFs* fs = Fs();
  if (off < 0) return -EINVAL;
  if (static_cast<uint64_t>(off) >= fs->size) return 0;
  n = static_cast<size_t>(std::min<uint64_t>(n, fs->size - static_cast<uint64_t>(off)));
  Status s = fs->disk->Read(static_cast<uint64_t>(off), buf, n);
  if (!s.ok()) {
    if (s.code() != Code::kCorruption && fs->log) fs->log("read error: " + s.message());
    return -EIO;
  }
  return static_cast<int>(n);
}

int WriteOrThrow(const char* path, const char* buf, size_t n, off_t off) {
  if (std::strcmp(path, kDisk) != 0) return -ENOENT;
  DiskFs* fs = Fs();
  if (!fs->disk->writable()) return -EROFS;
  if (off < 0 || static_cast<uint64_t>(off) >= fs->size) return -ENOSPC;
  n = static_cast<size_t>(std::min<uint64_t>(n, fs->size - static_cast<uint64_t>(off)));
  Status s = fs->disk->Write(static_cast<uint64_t>(off), buf, n);
  if (!s.ok()) {
    if (fs->log) fs->log("write error: " + s.message());
    return -EIO;
  }
  return static_cast<int>(n);
}

// fsync, flush (each close) and release (the last close) make the writes
// durable: the loop driver turns a REQ_PREFLUSH into fsync of `disk`.
int FsyncOrThrow() {
  DiskFs* fs = Fs();
  if (!fs->disk->writable()) return 0;
  Status s = fs->disk->Flush();
  if (!s.ok()) {
    if (fs->log) fs->log("sync error: " + s.message());
    return -EIO;
  }
  return 0;
}

// No exception may leave a FUSE worker thread (it would end the server with
// the disk still in use): one that escapes the chain or volume code (an
// allocation failing, say) becomes EIO for that request, and is logged.
template <typename F>
int Guarded(const char* what, F f) {
  try {
    return f();
  } catch (const std::exception& e) {
    if (Fs()->log) Fs()->log(std::string(what) + " error: unexpected failure: " + e.what());
  } catch (...) {
    if (Fs()->log) Fs()->log(std::string(what) + " error: unexpected failure");
  }
  return -EIO;
}

int DiskRead(const char* path, char* buf, size_t n, off_t off, struct fuse_file_info*) {
  return Guarded("read", [&] { return ReadOrThrow(path, buf, n, off); });
}
int DiskWrite(const char* path, const char* buf, size_t n, off_t off, struct fuse_file_info*) {
  return Guarded("write", [&] { return WriteOrThrow(path, buf, n, off); });
}
int DiskFsync(const char*, int, struct fuse_file_info*) {
  return Guarded("sync", [&] { return FsyncOrThrow(); });
}
int DiskFlush(const char* path, struct fuse_file_info* fi) { return DiskFsync(path, 0, fi); }
int DiskRelease(const char* path, struct fuse_file_info* fi) { return DiskFsync(path, 0, fi); }

int DiskTruncate(const char*, off_t, struct fuse_file_info*) { return -EPERM; }

int DiskStatfs(const char*, struct statvfs* st) {
  std::memset(st, 0, sizeof *st);
  st->f_bsize = st->f_frsize = 4096;
  st->f_blocks = (Fs()->size + 4095) / 4096;
  st->f_files = 2;
  st->f_namemax = 255;
  return 0;
}

// The kernel starts a FUSE mount's readahead at 128 KiB and only lowers it
// to max_readahead, so reads reach us in 128 KiB pieces. As root, raise the
// mount's bdi readahead to 1 MiB (best effort: measured +46% sequential).
void RaiseReadahead(const std::string& mountpoint) {
  // Not stat(): the mount would wait for us to serve it. mountinfo has the
  // device number ("MAJ:MIN", third field) of every mount point.
  char real[4096];
  if (!::realpath(mountpoint.c_str(), real)) return;
  const std::string dev = MountDeviceNumber(real);
  if (dev.empty()) return;
  if (std::FILE* f = std::fopen(("/sys/class/bdi/" + dev + "/read_ahead_kb").c_str(), "w")) {
    std::fputs("1024", f);
    std::fclose(f);
  }
}

}  // namespace

int RunFuseDisk(DiskSource* disk, const FuseDiskOptions& o) {
  DiskFs fs{disk, disk->size(), time(nullptr), o.log};
  struct fuse_operations ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = DiskInit;
  ops.getattr = DiskGetattr;
  ops.readdir = DiskReaddir;
  ops.open = DiskOpen;
  ops.read = DiskRead;
  ops.write = DiskWrite;
  ops.fsync = DiskFsync;
  ops.flush = DiskFlush;
  ops.release = DiskRelease;
  ops.truncate = DiskTruncate;
  ops.statfs = DiskStatfs;

  std::string mopts = "fsname=ddloop,subtype=ddloop,default_permissions,max_read=1048576";
  if (!disk->writable()) mopts += ",ro";
  if (o.allow_other) mopts += ",allow_other";
  const char* argv[] = {"ddloop", "-o", mopts.c_str()};
  struct fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  struct fuse* f = fuse_new(&args, &ops, sizeof ops, &fs);
  if (f == nullptr) {
    std::fprintf(stderr, "ddloop mount: cannot set up FUSE\n");
    return 1;
  }
  if (fuse_mount(f, o.mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "ddloop mount: %s: cannot mount (is /dev/fuse there, and the directory empty?)\n",
                 o.mountpoint.c_str());
    fuse_destroy(f);
    return 3;
  }
  RaiseReadahead(o.mountpoint);
  struct fuse_session* se = fuse_get_session(f);
  fuse_set_signal_handlers(se);
  if (fuse_daemonize(o.foreground ? 1 : 0) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    return 1;
  }
  if (!o.pid_file.empty()) {
    if (FILE* p = std::fopen(o.pid_file.c_str(), "w")) {
      std::fprintf(p, "%d\n", static_cast<int>(getpid()));
      std::fclose(p);
    }
  }
  if (o.on_ready) o.on_ready();
  struct fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, static_cast<unsigned>(o.max_threads));
  fuse_loop_cfg_set_idle_threads(cfg, static_cast<unsigned>(o.max_threads));
  int rc = fuse_loop_mt(f, cfg);
  fuse_loop_cfg_destroy(cfg);
  if (o.on_stop) o.on_stop();
  Status closed = disk->Close();
  if (!closed.ok() && o.log) o.log("close: " + closed.message());
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  // fuse_loop_mt returns the signal number when a signal ended it: a normal stop.
  return rc >= 0 ? 0 : 1;
}

}  // namespace ddl::attach
