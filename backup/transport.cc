#include "backup/transport.h"

#include <errno.h>
#include <sys/stat.h>

#include <cstring>

#include "backup/transport_internal.h"

namespace ddl {

Status MakeDirs(const std::string& dir) {
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return IOError(cur + ": cannot create directory: " + std::strerror(errno));
  }
  return Status::Ok();
}

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t host = scheme + 3;
  size_t end = url.find('/', host);
  size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  return url.substr(0, host) + url.substr(at + 1);
}

Result<std::unique_ptr<Transport>> OpenTransport(const std::string& url, const TransportConfig& c) {
  auto starts = [&](const char* p) { return url.compare(0, std::char_traits<char>::length(p), p) == 0; };
  if (starts("file://")) return OpenFileTransport(url);
  if (starts("http://") || starts("https://")) return OpenHttpTransport(url, c);
  if (starts("s3://")) return OpenS3Transport(url, c);
  return InvalidArgument(RedactUrl(url) + ": not a repository URL (file:///DIR, http(s)://HOST/PATH or s3://BUCKET/PREFIX)");
}

}  // namespace ddl
