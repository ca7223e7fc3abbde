// mount_table.cc - parsing /proc/self/mountinfo.
#include "attach/mount_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "attach/run_program.h"

namespace ddl::attach {

namespace {

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool IsDeviceNumber(const std::string& s) {
  size_t colon = s.find(':');
  return colon != std::string::npos && AllDigits(s.substr(0, colon)) && AllDigits(s.substr(colon + 1));
}

// Splits at runs of spaces (fields never hold one: the kernel escapes it).
std::vector<std::string> Fields(const std::string& line, size_t want) {
  std::vector<std::string> f;
  size_t i = 0;
  while (i < line.size() && f.size() < want) {
    while (i < line.size() && line[i] == ' ') i++;
    size_t j = line.find(' ', i);
    if (j == std::string::npos) j = line.size();
    if (j > i) f.push_back(line.substr(i, j - i));
    i = j;
  }
  return f;
}

}  // namespace

std::string UnescapeMountField(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3])) {
      o.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      o.push_back(s[i]);
    }
  }
  return o;
}

std::vector<MountEntry> ParseMountInfo(const std::string& text) {
  std::vector<MountEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::vector<std::string> f = Fields(text.substr(pos, end - pos), 5);
    pos = end + 1;
    if (f.size() < 5 || !AllDigits(f[0]) || !AllDigits(f[1]) || !IsDeviceNumber(f[2])) continue;
    out.push_back(MountEntry{f[2], UnescapeMountField(f[3]), UnescapeMountField(f[4])});
  }
  return out;
}

Result<std::vector<MountEntry>> ReadMountTable() {
  const char* path = "/proc/self/mountinfo";
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IOError(std::string(path) + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return IOError(std::string(path) + ": cannot read: " + std::strerror(e));
    }
    if (n == 0) break;
    if (text.size() + size_t(n) > kMaxMountInfoBytes) {
      ::close(fd);
      return IOError(std::string(path) + ": larger than " + std::to_string(kMaxMountInfoBytes >> 20) + " MiB");
    }
    text.append(buf, size_t(n));
  }
  ::close(fd);
  return ParseMountInfo(text);
}

bool IsMountPoint(const std::string& dir) {
  auto table = ReadMountTable();
  if (!table.ok()) return false;
  const std::string want = ResolvedPath(dir);
  for (const MountEntry& e : *table)
    if (e.mount_point == want) return true;
  return false;
}

std::string MountDeviceNumber(const std::string& resolved_dir) {
  auto table = ReadMountTable();
  if (!table.ok()) return "";
  std::string dev;
  for (const MountEntry& e : *table)
    if (e.mount_point == resolved_dir) dev = e.devno;
  return dev;
}

}  // namespace ddl::attach
