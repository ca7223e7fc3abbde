#include "backup/transport.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>

#include "backup/transport_internal.h"

namespace ddl {

Status MakeDirs(const std::string& dir, mode_t mode) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      return IOError(cur + ": cannot create directory: " + std::strerror(errno));
  }
  return Status::Ok();
}

Status CheckTag(const std::string& tag, const std::string& what) {
  if (tag.size() > kMaxTag) return InvalidArgument(what + ": a tag longer than " + std::to_string(kMaxTag) + " bytes");
  for (unsigned char c : tag)
    if (c < 0x20 || c == 0x7f) return InvalidArgument(what + ": a tag with a control character");
  return Status::Ok();
}

std::string ServerTag(const std::string& etag) { return CheckTag(etag, "").ok() ? etag : ""; }

bool SplitUserinfo(const std::string& url, std::string* userinfo, std::string* without) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const size_t host = scheme + 3;
  const size_t slash = url.find('/', host);
  const size_t auth_end = slash == std::string::npos ? url.size() : slash;
  size_t at = url.rfind('@', auth_end);
  if (at == std::string::npos || at < host) {
    // No '@' before the first '/': a password with a '/' in it
    // ("user:pa/ss@host/path") looks like a host and a path. It does when
    // the authority has a ':' not followed by a port, and an '@' follows.
    const size_t colon = url.find(':', host);
    if (colon == std::string::npos || colon >= auth_end) return false;
    const std::string port = url.substr(colon + 1, auth_end - colon - 1);
    if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos) return false;
    at = url.find('@', auth_end);
    if (at == std::string::npos) return false;
    // "user:p/a@ss@host/path": the userinfo runs to the '@' before the host.
    for (;;) {
      const size_t next_slash = url.find('/', at + 1);
      const size_t next_at = url.find('@', at + 1);
      if (next_at == std::string::npos || (next_slash != std::string::npos && next_at > next_slash)) break;
      at = next_at;
    }
  }
  *userinfo = url.substr(host, at - host);
  *without = url.substr(0, host) + url.substr(at + 1);
  return true;
}

std::string RedactUrl(const std::string& url) {
  std::string userinfo, without;
  return SplitUserinfo(url, &userinfo, &without) ? without : url;
}

Result<std::unique_ptr<Transport>> OpenTransport(const std::string& url, const TransportConfig& c) {
  auto starts = [&](const char* p) { return url.compare(0, std::char_traits<char>::length(p), p) == 0; };
  if (starts("file://")) return OpenFileTransport(url);
  if (starts("http://") || starts("https://")) return OpenHttpTransport(url, c);
  if (starts("s3://")) return OpenS3Transport(url, c);
  return InvalidArgument(RedactUrl(url) +
                         ": not a repository URL (file:///DIR, http(s)://HOST/PATH or s3://BUCKET/PREFIX)");
}

}  // namespace ddl
