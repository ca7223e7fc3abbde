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

// Where and as whom; filled from the command line and the environment.
struct TransportConfig {
  std::string endpoint;   // s3: scheme://host[:port] of a non-AWS server (path-style)
  std::string region;     // s3: signing region
  std::string access_key, secret_key, session_token;  // s3 credentials
  std::string state_dir;  // s3: where multipart upload ids are remembered
  int retries = 5;        // for small requests (listing, catalog entries)
};

class Transport {
 public:
  virtual ~Transport() = default;

  // The URL of `key` as shown in messages (no credentials).
  virtual std::string Describe(const std::string& key) const = 0;

  // Size of an object; kNotFound when it does not exist.
  virtual Result<uint64_t> Size(const std::string& key) = 0;
  // A small object (a catalog entry) whole; kNotFound when absent.
  virtual Result<std::string> ReadSmall(const std::string& key) = 0;
  // Stores a small object. Readers see the old object, or none, or all of
  // the new one.
  virtual Status WriteSmall(const std::string& key, const std::string& data) = 0;

  // Uploads `size` bytes of `src` as `key`. Readers never see a partial
  // object under `key`. May resume an earlier interrupted upload of the
  // same key (s3: completed multipart parts).
  virtual Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o,
                        TransferStats* st) = 0;
  // Downloads `key` into `dst`, whose first `have` bytes already hold the
  // object's first bytes: asks for the rest only (HTTP Range). If the
  // server sends the whole object instead, `dst` is rewritten from 0.
  virtual Status Download(const std::string& key, File* dst, uint64_t have, const NetOptions& o,
                          TransferStats* st) = 0;

  // Names of the objects directly under `dir` ("catalog"), unsorted.
  virtual Result<std::vector<std::string>> List(const std::string& dir) = 0;
  // Removes an object; Ok if it did not exist.
  virtual Status Remove(const std::string& key) = 0;
};

// Opens the repository at `url` (file://, http://, https://, s3://).
// kInvalidArgument for an unknown scheme or a malformed URL.
Result<std::unique_ptr<Transport>> OpenTransport(const std::string& url, const TransportConfig& c);

// `url` with any user:password@ removed, for messages.
std::string RedactUrl(const std::string& url);

}  // namespace ddl
