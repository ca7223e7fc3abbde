// apply_state.h - what an apply recorded about an image, kept beside it.
//
// `ddloop apply` records, in a small text file written atomically (temp
// file, fsync, rename, fsync directory):
//   state at        the image holds `current` (an identity); `stamp` is the
//                   image's Env::Stamp when that was recorded, so a later
//                   apply can trust the record only while the image is
//                   untouched.
//   state applying  the image is between `current` and `target`: records
//                   [0, done_records) of the delta whose header checksum is
//                   `delta_csum` are durable in it; the rest may or may not
//                   be. Replaying from done_records finishes the job
//                   (records hold absolute contents, so replay is
//                   idempotent).
// The file ends with an xxh64 of everything before it; a damaged file is
// reported, never trusted.
#pragma once

#include <string>

#include "deltafile/format.h"
#include "deltafile/io.h"

namespace ddl {

// Largest state file read.
constexpr size_t kApplyStateMax = 1 << 16;

struct ApplyState {
  enum class Phase { kAt, kApplying };
  Phase phase = Phase::kAt;
  Uuid volume_uuid;
  uint64_t volume_size = 0;
  uint32_t chunk_shift = 0;
  Identity current;  // at: what the image holds; applying: the delta's base
  // EscapeStateName(ImageIdentity(image)) of the image it was recorded for;
  // "" in a state written by an earlier version. A state of another image
  // (a --state shared by two images) is never trusted.
  std::string image;
  std::string stamp;  // at: Env::Stamp of the image
  // applying only:
  Identity target;
  uint64_t delta_csum = 0;
  uint64_t done_records = 0;

  // The file's text (deltafile/text_record.h); `name` prefixes errors.
  Result<std::string> Encode(const std::string& name) const;
  static Result<ApplyState> Decode(const std::string& text, const std::string& name);
};

// What names one image, whatever path reaches it: the canonical path of a
// file (realpath; for a file yet to be created, its directory's realpath
// and its name), BlockDeviceKey of a block device. Only Env::Posix() paths
// are canonicalised (other Envs are in memory): there, `image` itself.
std::string ImageIdentity(Env* env, const std::string& image);

// The default place of an image's state, the same for every name of one
// image and different for different images:
//   a file          ImageIdentity(file) + ".ddloop-state", so a symbolic
//                   link or another spelling of the path finds one state;
//   a block device  /var/lib/ddloop/replica/ESC(BlockDeviceKey(dev)).state.
// States kept by earlier versions under the device's path with "/" turned
// into "_" (ambiguous: /dev/a/b_c and /dev/a_b/c met) are never read: the
// first apply after the upgrade checks the base in full.
std::string DefaultStatePath(Env* env, const std::string& image);

// What a block device's state is keyed by: "dm-uuid-UUID" for a
// device-mapper device with a UUID (LVM, dm-crypt: stable across reboots and
// renumbering), else "block-MAJOR:MINOR-KERNELNAME" (e.g. "block-7:3-loop3").
// Every node of one device (symbolic links, a mknod copy) gives the same key.
// "" when `dev` is not a block device.
std::string BlockDeviceKey(const std::string& dev);

// Percent-encodes every byte but [A-Za-z0-9._-] (and a leading '.'), so
// different keys never give the same file name and none is a path.
std::string EscapeStateName(const std::string& key);

// Missing file: *found = false and Ok.
Status LoadApplyState(Env* env, const std::string& path, ApplyState* s, bool* found);
Status SaveApplyState(Env* env, const std::string& path, const ApplyState& s);

}  // namespace ddl
