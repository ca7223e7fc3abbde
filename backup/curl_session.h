// curl_session.h - the libcurl glue shared by the HTTP and S3 transports:
// one request at a time on one easy handle, bodies from/to strings or
// Files, retries with exponential backoff, rate limit, progress, and
// turning failures into one-line Status messages without credentials.
//
// A CurlSession is used by one thread at a time. libcurl's global init is
// done once, thread-safely, by the first session.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "backup/transport.h"
#include "deltafile/io.h"

namespace ddl {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE, ...
  std::string url;             // no credentials in it
  std::string what;            // names the object in messages (a redacted URL)
  std::vector<std::string> headers;
  std::string userpwd;    // "user:password" (never printed)
  std::string aws_sigv4;  // e.g. "aws:amz:us-east-1:s3": sign with userpwd as key:secret
  // Request body: `body` (small), or `src` bytes [src_off, src_off+src_len).
  const std::string* body = nullptr;
  File* src = nullptr;
  uint64_t src_off = 0, src_len = 0;
  // Response body: to `dst` at dst_off onwards when the status is 2xx (at 0
  // when a range was asked but the answer is a whole 200), never past
  // dst_limit (a longer answer is cut off: kCorruption); else into
  // HttpResponse::body, at most max_body bytes of a 2xx answer (a longer
  // one is cut off: an error of code too_large) and the first
  // kMaxErrorBody bytes of any other (the rest is not read).
  File* dst = nullptr;
  uint64_t dst_off = 0;
  uint64_t dst_limit = UINT64_MAX;
  size_t max_body = 1 << 20;
  Code too_large = Code::kRemote;
  std::string range;  // "N-": bytes from N on
  const NetOptions* net = nullptr;
  int stall_seconds = 60;  // fails when no byte moves for this long (and the connect timeout)
  bool netrc = false;      // credentials from ~/.netrc, or from netrc_file
  std::string netrc_file;
};

// What is kept of the body of a non-2xx answer.
constexpr size_t kMaxErrorBody = 4096;

struct HttpResponse {
  long code = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  uint64_t sent = 0;      // request body bytes sent
  uint64_t received = 0;  // response body bytes written to dst
};

class CurlSession {
 public:
  CurlSession();
  ~CurlSession();
  CurlSession(const CurlSession&) = delete;
  CurlSession& operator=(const CurlSession&) = delete;

  // One attempt. Ok when an HTTP response arrived (any status); otherwise
  // kRemote naming r.what, with *retryable set for network failures.
  Status Once(const HttpRequest& r, HttpResponse* resp, bool* retryable);

 private:
  void* curl_;
};

// 5xx and 429 are worth another attempt.
inline bool RetryableHttp(long code) { return code >= 500 || code == 429; }

// Runs attempt(n) for n = 0, 1, ... while it fails with *retryable set and
// attempts remain (1 + net.retries), sleeping 0.5 s, 1 s, 2 s ... (at most
// 8 s) in between.
Status WithRetries(const NetOptions& net, const std::function<Status(int n, bool* retryable)>& attempt);

// A small request (no File body), retried like WithRetries on network
// errors and 5xx/429, at most `retries` times.
Status CallWithRetries(const HttpRequest& r, HttpResponse* resp, int retries);

// The small-object requests both transports make, on `r` (url, what,
// credentials set; method ignored), retried like CallWithRetries:
// HEAD for the size (Content-Length), GET of a whole small body, PUT of a
// small body, DELETE (Ok when already gone). 404 gives kNotFound.
Result<uint64_t> HeadSize(HttpRequest r, int retries);
Result<std::string> GetSmall(HttpRequest r, int retries);
Status PutSmall(HttpRequest r, const std::string& data, int retries);
// GET of a small body unless its ETag is still `tag` (If-None-Match; a
// 304 answer: changed=false). Tag "" always reads. The ETag of a 200 is
// SmallRead::tag ("" when none, or one ServerTag drops).
Result<SmallRead> GetSmallIfChanged(HttpRequest r, const std::string& tag, int retries);
Status DeleteObject(HttpRequest r, int retries);

// Sends src[off, off+len) as the body of `r` (a PUT), from its first byte
// again on every retry; Ok only for a 2xx answer (left in *resp). Adds the
// bytes sent by every attempt to st->bytes_transferred.
Status PutWithRetries(HttpRequest r, File* src, uint64_t off, uint64_t len, const NetOptions& o, TransferStats* st,
                      HttpResponse* resp);

// GETs `r` into dst after its first `have` bytes (Range: have-), and on a
// retry after a cut-off connection asks only for what is still missing.
// A server that answers 200 instead of 206 makes a fresh copy from 0. The
// object is `size` bytes: an answer running past it is cut off there
// (kCorruption, not retried). On success dst holds exactly the object.
// Fills st.
Status GetResumable(HttpRequest r, File* dst, uint64_t have, uint64_t size, const NetOptions& o, TransferStats* st);

// The standard message for a non-2xx answer: "WHAT: HTTP 403 Forbidden"
// plus S3's <Code> and <Message> when the body has them. 404 gives
// kNotFound, the rest kRemote.
Status HttpError(const std::string& what, const HttpResponse& resp);

// The text of every <tag>...</tag> in a small XML document, in order.
std::vector<std::string> XmlValues(const std::string& xml, const std::string& tag);

// RFC 3986 percent-encoding of everything but unreserved characters (and
// '/' when keep_slash).
std::string UrlEncode(const std::string& s, bool keep_slash);

}  // namespace ddl
