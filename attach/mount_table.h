// mount_table.h - the kernel's mount table (/proc/self/mountinfo, see
// proc(5)): one parser for every question ddloop asks of it (is a directory
// a mount point; which device number a mount has). Pure functions and a
// reader; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "deltafile/status.h"

namespace ddl::attach {

struct MountEntry {
  std::string devno;        // "MAJ:MIN", the third field
  std::string root;         // the fourth field, unescaped
  std::string mount_point;  // the fifth field, unescaped
};

// Undoes the kernel's escapes: a backslash and three octal digits ("\040"
// space, "\011" tab, "\012" newline, "\134" backslash) is that byte; any
// other backslash is kept as it is.
std::string UnescapeMountField(const std::string& s);

// The entries of mountinfo `text`, in order. A line with fewer than five
// fields, a mount or parent id that is not a number, or a device number not
// "MAJ:MIN" is skipped. Lines may be of any length.
std::vector<MountEntry> ParseMountInfo(const std::string& text);

// /proc/self/mountinfo parsed; IOError when it cannot be read or is larger
// than kMaxMountInfoBytes.
constexpr size_t kMaxMountInfoBytes = 64u << 20;
Result<std::vector<MountEntry>> ReadMountTable();

// Whether `dir` (resolved with realpath) is a mount point; false when the
// table cannot be read.
bool IsMountPoint(const std::string& dir);

// The device number of the mount on `dir` (the topmost when mounts are
// stacked), or "" when nothing is mounted there. `dir` must already be
// resolved: this never touches it (a stat of a FUSE mount point would wait
// for its own server).
std::string MountDeviceNumber(const std::string& resolved_dir);

}  // namespace ddl::attach
