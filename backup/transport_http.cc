// transport_http.cc - http(s)://host/path: objects are URLs under the
// path, written with PUT, read with GET (Range to resume), removed with
// DELETE. Needs a server that stores PUTs (nginx's dav_methods PUT DELETE
// with create_full_put_path on, or any WebDAV server) and that lists a
// directory on GET of DIR/ (nginx autoindex, HTML or JSON).
//
// A PUT that is cut off is started again from byte 0; nginx writes a PUT
// to a temporary file and renames it when complete, so readers never see a
// partial object.
//
// CreateSmall (a catalog entry that must not replace another) PUTs a
// hidden temporary object (".NAME.<random>.tmp", skipped by listings) and
// MOVEs it to its name with "Overwrite: F" (WebDAV, RFC 4918; nginx's
// dav_methods MOVE): the server refuses with 412 when the name is taken.
// A server without MOVE gets a PUT with "If-None-Match: *" followed by a
// read back (nginx ignores that header on PUT: then two writers racing
// within one round trip can still both succeed; use MOVE).
//
// A directory listing is read whole, up to kMaxListingBytes; a longer one
// is an error, never a truncation.
#include <algorithm>

#include "backup/curl_session.h"
#include "backup/transport_internal.h"

namespace ddl {

namespace {

// 64 MiB of nginx JSON autoindex: ~600,000 names.
constexpr size_t kMaxListingBytes = 64u << 20;

std::string UrlDecode(const std::string& s) {
  std::string o;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit((unsigned char)s[i + 1]) &&
        std::isxdigit((unsigned char)s[i + 2])) {
      o += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      o += s[i];
    }
  }
  return o;
}

// Names in a directory listing: nginx's autoindex_format json
// ([{"name":"a", ...}]) or any HTML page of links (href="a").
std::vector<std::string> ParseListing(const std::string& body) {
  std::vector<std::string> names;
  const bool json =
      body.find_first_not_of(" \t\r\n") != std::string::npos && body[body.find_first_not_of(" \t\r\n")] == '[';
  const std::string key = json ? "\"name\":" : "href=\"";
  for (size_t pos = 0; (pos = body.find(key, pos)) != std::string::npos;) {
    size_t start = body.find('"', pos + key.size() - (json ? 0 : 1));
    if (start == std::string::npos) break;
    size_t end = body.find('"', start + 1);
    if (end == std::string::npos) break;
    std::string n = json ? body.substr(start + 1, end - start - 1) : UrlDecode(body.substr(start + 1, end - start - 1));
    pos = end + 1;
    if (n.empty() || n[0] == '?' || n[0] == '/' || n[0] == '.' || n.find("://") != std::string::npos) continue;
    if (n.back() == '/') continue;  // a subdirectory
    if (n.find('/') != std::string::npos) continue;
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

class HttpTransport : public Transport {
 public:
  HttpTransport(std::string base, std::string userpwd, const TransportConfig& c)
      : base_(std::move(base)), userpwd_(std::move(userpwd)), c_(c), retries_(c.retries) {}

  std::string Describe(const std::string& key) const override { return base_ + "/" + key; }

  Result<uint64_t> Size(const std::string& key) override { return HeadSize(Request("HEAD", key), retries_); }
  Result<std::string> ReadSmall(const std::string& key) override { return GetSmall(Request("GET", key), retries_); }
  Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) override {
    return GetSmallIfChanged(Request("GET", key), tag, retries_);
  }
  Status WriteSmall(const std::string& key, const std::string& data) override {
    return PutSmall(Request("PUT", key), data, retries_);
  }

  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o, TransferStats* st) override {
    HttpRequest r = Request("PUT", key);
    r.headers.push_back("Content-Type: application/octet-stream");
    HttpResponse resp;
    return PutWithRetries(r, src, 0, size, o, st, &resp);
  }

  Status CreateSmall(const std::string& key, const std::string& data) override {
    const size_t slash = key.rfind('/');
    const std::string dir = slash == std::string::npos ? "" : key.substr(0, slash + 1);
    const std::string tmp = dir + "." + key.substr(dir.size()) + "." + RandomHex() + ".tmp";
    HttpRequest put_tmp = Request("PUT", tmp);
    put_tmp.what = Describe(key);  // messages name what is being created
    DDL_RETURN_IF_ERROR(PutSmall(put_tmp, data, retries_));
    HttpRequest mv = Request("MOVE", tmp);
    mv.headers.push_back("Destination: " + base_ + "/" + UrlEncode(key, true));
    mv.headers.push_back("Overwrite: F");
    HttpResponse resp;
    Status s = CallWithRetries(mv, &resp, retries_);
    if (s.ok() && resp.code / 100 == 2) return Status::Ok();
    DeleteObject(Request("DELETE", tmp), retries_);  // best effort: a hidden name
    DDL_RETURN_IF_ERROR(s);
    if (resp.code == 412) return Status(Code::kExists, Describe(key) + ": exists already");
    if (resp.code == 404) {  // a retried MOVE whose first attempt went through?
      Result<std::string> now = ReadSmall(key);
      if (now.ok() && *now == data) return Status::Ok();
      if (now.ok()) return Status(Code::kExists, Describe(key) + ": exists already");
    }
    if (resp.code != 405 && resp.code != 501 && resp.code != 400) return HttpError(Describe(key), resp);
    // No MOVE: If-None-Match, then read back what is there.
    HttpRequest put = Request("PUT", key);
    put.headers.push_back("If-None-Match: *");
    put.body = &data;
    DDL_RETURN_IF_ERROR(CallWithRetries(put, &resp, retries_));
    if (resp.code == 412) return Status(Code::kExists, Describe(key) + ": exists already");
    if (resp.code / 100 != 2) return HttpError(Describe(key), resp);
    DDL_ASSIGN_OR_RETURN(std::string back, ReadSmall(key));
    if (back != data) return Status(Code::kExists, Describe(key) + ": was written by another writer at the same time");
    return Status::Ok();
  }

  Status Download(const std::string& key, uint64_t size, File* dst, uint64_t have, const NetOptions& o,
                  TransferStats* st) override {
    return GetResumable(Request("GET", key), dst, have, size, o, st);
  }

  Result<std::vector<std::string>> List(const std::string& dir) override {
    HttpResponse resp;
    HttpRequest r = Request("GET", dir + "/");
    r.max_body = kMaxListingBytes;
    DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries_));
    if (resp.code == 404) return Status(Code::kNotFound, Describe(dir + "/") + ": no such directory");
    if (resp.code != 200) return HttpError(Describe(dir + "/"), resp);
    std::vector<std::string> names = ParseListing(resp.body);
    if (names.size() > kMaxListNames)
      return RemoteError(Describe(dir + "/") + ": lists more than " + std::to_string(kMaxListNames) + " names");
    return names;
  }

  Status Remove(const std::string& key) override { return DeleteObject(Request("DELETE", key), retries_); }

 private:
  HttpRequest Request(const std::string& method, const std::string& key) const {
    HttpRequest r;
    r.method = method;
    r.url = base_ + "/" + UrlEncode(key, true);
    r.what = Describe(key);
    r.userpwd = userpwd_;
    r.stall_seconds = c_.stall_seconds;
    r.netrc = c_.netrc;
    r.netrc_file = c_.netrc_file;
    return r;
  }

  std::string base_;     // scheme://host[:port]/path, no trailing slash
  std::string userpwd_;  // from user:password@ in the URL
  TransportConfig c_;
  int retries_;
};

}  // namespace

Result<std::unique_ptr<Transport>> OpenHttpTransport(const std::string& url, const TransportConfig& c) {
  std::string userinfo, rest = url;
  std::string userpwd;
  if (SplitUserinfo(url, &userinfo, &rest)) userpwd = UrlDecode(userinfo);
  const size_t host = rest.find("://") + 3;
  const size_t path = rest.find('/', host);
  const std::string authority = rest.substr(host, path == std::string::npos ? std::string::npos : path - host);
  if (authority.empty()) return InvalidArgument(RedactUrl(url) + ": no host in the URL");
  std::string base = rest;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<Transport>(new HttpTransport(base, userpwd, c));
}

}  // namespace ddl
