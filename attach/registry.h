// registry.h - the record of what `ddloop attach` set up, so `detach`
// can undo it in order and `list` can show it, even after the serving
// process died. One directory per attachment under /run/ddloop (tmpfs: gone
// after a reboot, like the mounts it describes):
//   /run/ddloop/<id>/state   key value lines (below)
//   /run/ddloop/<id>/mnt/    the FUSE mount point (mnt/disk backs the loop)
//   /run/ddloop/<id>/log     the serving process's log
//   /run/ddloop/<id>/pid     the serving process's PID, written by it
// Functions here touch only those files; they are safe to call from several
// threads on different attachments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl::attach {

// The kind names an attachment's record and `--json` output carry.
constexpr char kKindFuse[] = "fuse";      // the FUSE server + a loop device
constexpr char kKindKernel[] = "kernel";  // the kernel driver (ddloop.ko)

struct Attachment {
  std::string id;
  std::string dir;  // /run/ddloop/<id>
  std::string kind = kKindFuse;
  std::string loop;      // the device: /dev/loopN or /dev/ddloopN; "" before it exists
  std::string fs_mount;  // --mount-fs DIR, or ""
  std::string base;
  std::string cow;
  std::vector<std::string> deltas;
  std::string volume;    // `ddloop volume attach`: the volume directory
  std::string snapshot;  // and the snapshot shown read-only ("": the live volume)
  // Who manages it when it is not a user's attach: "replica serve DIR"
  // (replica/serve.h) finds its own by this after a crash. "" otherwise.
  std::string owner;
  int pid = 0;           // the FUSE server
  uint64_t created = 0;  // unix seconds

  std::string FuseMount() const { return dir + "/mnt"; }
  bool kernel() const { return kind == kKindKernel; }
};

std::string AttachRoot();  // /run/ddloop, or $DDLOOP_RUN_DIR for tests
// Makes <root>/<new id>/ and its mnt/ (the record is not saved yet).
Result<Attachment> NewAttachment();
// Replaces DIR/state atomically.
Status SaveAttachment(const Attachment& a);
// Reads DIR/state (the text codec of deltafile/text_record.h, magic
// "ddloop-attachment 1"; a record from before the codec, without magic and
// checksum lines, is still read). NotFound when there is none; Corruption
// (one line naming the file) when it is longer than kMaxRecordBytes, fails
// its checksum, has no id, or holds a number that is not one.
constexpr size_t kMaxRecordBytes = 1u << 20;
Result<Attachment> LoadAttachment(const std::string& dir);
// Every attachment with a readable record (damaged ones are left out).
std::vector<Attachment> ListAttachments();
// Finds by id, loop device, filesystem mount dir or FUSE mount dir.
Result<Attachment> FindAttachment(const std::string& what);
// The attachments of the volume at `dir` (the live one and snapshots).
std::vector<Attachment> VolumeAttachments(const std::string& dir);

}  // namespace ddl::attach
