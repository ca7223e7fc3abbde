// transport.h - moving objects to and from a remote repository.
//
// A Transport stores named objects ("keys", relative paths such as
// "catalog/a.ddl.entry") under one repository URL. Three implementations,
// chosen by the URL's scheme (OpenTransport):
//   file:///dir          a directory (transport_file.cc)
//   http(s)://host/path  PUT/GET/HEAD/DELETE, e.g. nginx's WebDAV module
//                        (transport_http.cc)
//   s3://bucket/prefix   S3-compatible object storage, SigV4 through
//                        libcurl, multipart uploads (transport_s3.cc)
// What the objects mean (the catalog, the chain) is repository.h's job.
//
// Every method may be called from several threads at once; each call uses
// its own connection. Errors name the object by its URL, never with
// credentials in it.
//
// Every answer is bounded: a small object by kMaxSmallObject, a listing by
// kMaxListNames names (and its bytes, transport_*.cc), a download by the
// size the caller expects, an error body by a few KiB; and every network
// transfer stops when no byte moved for TransportConfig::stall_seconds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "deltafile/io.h"

namespace ddl {

// How bulk transfers behave. Shared, read-only, by concurrent transfers.
struct NetOptions {
  uint64_t limit_rate = 0;  // bytes per second per transfer; 0: no limit
  int retries = 5;          // extra attempts after a network error, 5xx, 429
  // Bytes of the current transfer moved so far (this run), from a transfer
  // thread. Optional.
  std::function<void(uint64_t bytes)> progress;
};

struct TransferStats {
  uint64_t bytes_transferred = 0;  // sent or received over the wire this run
  uint64_t resumed_from = 0;       // bytes that were already there (parts, partial file)
};

// A small object (catalog entry, marker) larger than this is refused.
constexpr size_t kMaxSmallObject = 64 << 10;
// A listing of more names than this is an error, never a truncation
// (a million deltas: a century of hourly ones).
constexpr size_t kMaxListNames = 1000000;

// A small object read only if it changed (Transport::ReadSmallIfChanged).
struct SmallRead {
  bool changed = true;  // false: the object still has the tag asked about; data is empty
  std::string data;     // the whole object, when changed
  std::string tag;      // its tag now ("" when the server gave none: then every read is a full read)
};
// A tag longer than this (or holding a control character) from a server is
// dropped: the next read is a full read.
constexpr size_t kMaxTag = 256;

// Where and as whom; filled from the command line and the environment.
struct TransportConfig {
  std::string endpoint;                               // s3: scheme://host[:port] of a non-AWS server (path-style)
  std::string region;                                 // s3: signing region
  std::string access_key, secret_key, session_token;  // s3 credentials
  std::string state_dir;                              // s3: where multipart upload ids are remembered
  int retries = 5;                                    // for small requests (listing, catalog entries)
  int stall_seconds = 60;                             // a transfer that moves no byte for this long fails
  // http(s): user and password from a netrc file (libcurl's CURLOPT_NETRC):
  // `netrc` for ~/.netrc, or the file `netrc_file`.
  bool netrc = false;
  std::string netrc_file;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // The URL of `key` as shown in messages (no credentials).
  virtual std::string Describe(const std::string& key) const = 0;

  // Size of an object; kNotFound when it does not exist.
  virtual Result<uint64_t> Size(const std::string& key) = 0;
  // A small object (a catalog entry) whole; kNotFound when absent,
  // kCorruption when larger than kMaxSmallObject (the read stops there).
  virtual Result<std::string> ReadSmall(const std::string& key) = 0;
  // A small object unless it still has `tag` (an earlier SmallRead::tag):
  // then changed=false, no data, and one small request was made (the idle
  // poll of a replica). http(s)/s3: GET with "If-None-Match: TAG", 304 is
  // unchanged, a 200 brings the object and its ETag. file://: the tag is
  // "MTIMENS-SIZE-INODE" of the file opened. Tag "" always reads. kNotFound
  // when absent, kCorruption when larger than kMaxSmallObject,
  // kInvalidArgument for a tag with a control character or longer than kMaxTag.
  virtual Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) = 0;
  // Stores a small object. Readers see the old object, or none, or all of
  // the new one.
  virtual Status WriteSmall(const std::string& key, const std::string& data) = 0;
  // Stores a small object only if `key` does not exist yet, atomically
  // with respect to other writers: kExists when it does (then nothing was
  // written). file://: a temp file link()ed to the name; http(s)://: a
  // hidden temp object MOVEd with "Overwrite: F" (WebDAV); s3://: PUT with
  // "If-None-Match: *". Where the server honours neither, the object is
  // written and read back, and a different content gives kExists.
  virtual Status CreateSmall(const std::string& key, const std::string& data) = 0;

  // Uploads `size` bytes of `src` as `key`. Readers never see a partial
  // object under `key`. May resume an earlier interrupted upload of the
  // same key (s3: completed multipart parts).
  virtual Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o, TransferStats* st) = 0;
  // Downloads `key`, `size` bytes long, into `dst`, whose first `have`
  // bytes already hold the object's first bytes: asks for the rest only
  // (HTTP Range). If the server sends the whole object instead, `dst` is
  // rewritten from 0. A server that sends more than `size` bytes is cut off
  // there (kCorruption): nothing past `size` is ever written.
  virtual Status Download(const std::string& key, uint64_t size, File* dst, uint64_t have, const NetOptions& o,
                          TransferStats* st) = 0;

  // Names of the objects directly under `dir` ("catalog"), unsorted;
  // kNotFound when the directory does not exist (file://, http://; S3 has
  // no directories: an empty list). More than kMaxListNames: kRemote.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Removes an object; Ok if it did not exist.
  virtual Status Remove(const std::string& key) = 0;
};

// Opens the repository at `url` (file://, http://, https://, s3://).
// kInvalidArgument for an unknown scheme or a malformed URL.
Result<std::unique_ptr<Transport>> OpenTransport(const std::string& url, const TransportConfig& c);

// `url` with any user:password@ removed, for messages. A password holding
// an unencoded '/' or '@' is removed too.
std::string RedactUrl(const std::string& url);
// Splits scheme://[userinfo@]rest; false when there is no userinfo. The
// userinfo ends at the last '@' of the authority; a ':' followed by
// something other than a port before the first '/' means the password
// holds a '/', and the userinfo then runs to the '@' before the host.
bool SplitUserinfo(const std::string& url, std::string* userinfo, std::string* without);

}  // namespace ddl
