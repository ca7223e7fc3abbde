// transport_internal.h - the per-scheme constructors behind OpenTransport
// (transport.cc). Each takes the full URL; not for use outside backup/.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "backup/transport.h"

namespace ddl {

// mkdir -p; new directories get `mode`.
Status MakeDirs(const std::string& dir, mode_t mode = 0755);

// Ok for a tag a caller may ask about (Transport::ReadSmallIfChanged):
// at most kMaxTag bytes, no control character (it goes into a header);
// else kInvalidArgument naming `what`.
Status CheckTag(const std::string& tag, const std::string& what);
// A tag as a server sent it (an ETag), or "" when it would fail CheckTag.
std::string ServerTag(const std::string& etag);

Result<std::unique_ptr<Transport>> OpenFileTransport(const std::string& url);
Result<std::unique_ptr<Transport>> OpenHttpTransport(const std::string& url, const TransportConfig& c);
Result<std::unique_ptr<Transport>> OpenS3Transport(const std::string& url, const TransportConfig& c);

}  // namespace ddl
