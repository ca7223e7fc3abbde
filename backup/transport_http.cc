// transport_http.cc - http(s)://host/path: objects are URLs under the
// path, written with PUT, read with GET (Range to resume), removed with
// DELETE. Needs a server that stores PUTs (nginx's dav_methods PUT DELETE
// with create_full_put_path on, or any WebDAV server) and that lists a
// directory on GET of DIR/ (nginx autoindex, HTML or JSON).
//
// A PUT that is cut off is started again from byte 0; nginx writes a PUT
// to a temporary file and renames it when complete, so readers never see a
// partial object.
#include <algorithm>

#include "backup/curl_session.h"
#include "backup/transport_internal.h"

namespace ddl {

namespace {

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
  const bool json = body.find_first_not_of(" \t\r\n") != std::string::npos &&
                    body[body.find_first_not_of(" \t\r\n")] == '[';
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
  HttpTransport(std::string base, std::string userpwd, int retries)
      : base_(std::move(base)), userpwd_(std::move(userpwd)), retries_(retries) {}

  std::string Describe(const std::string& key) const override { return base_ + "/" + key; }

  Result<uint64_t> Size(const std::string& key) override { return HeadSize(Request("HEAD", key), retries_); }
  Result<std::string> ReadSmall(const std::string& key) override { return GetSmall(Request("GET", key), retries_); }
  Status WriteSmall(const std::string& key, const std::string& data) override {
    return PutSmall(Request("PUT", key), data, retries_);
  }

  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o,
                TransferStats* st) override {
    HttpRequest r = Request("PUT", key);
    r.headers.push_back("Content-Type: application/octet-stream");
    HttpResponse resp;
    return PutWithRetries(r, src, 0, size, o, st, &resp);
  }

  Status Download(const std::string& key, File* dst, uint64_t have, const NetOptions& o,
                  TransferStats* st) override {
    return GetResumable(Request("GET", key), dst, have, o, st);
  }

  Result<std::vector<std::string>> List(const std::string& dir) override {
    HttpResponse resp;
    DDL_RETURN_IF_ERROR(CallWithRetries(Request("GET", dir + "/"), &resp, retries_));
    if (resp.code == 404) return std::vector<std::string>();  // nothing pushed yet
    if (resp.code != 200) return HttpError(Describe(dir + "/"), resp);
    return ParseListing(resp.body);
  }

  Status Remove(const std::string& key) override { return DeleteObject(Request("DELETE", key), retries_); }

 private:
  HttpRequest Request(const std::string& method, const std::string& key) const {
    HttpRequest r;
    r.method = method;
    r.url = base_ + "/" + UrlEncode(key, true);
    r.what = Describe(key);
    r.userpwd = userpwd_;
    return r;
  }

  std::string base_;     // scheme://host[:port]/path, no trailing slash
  std::string userpwd_;  // from user:password@ in the URL
  int retries_;
};

}  // namespace

Result<std::unique_ptr<Transport>> OpenHttpTransport(const std::string& url, const TransportConfig& c) {
  size_t host = url.find("://") + 3;
  size_t path = url.find('/', host);
  std::string authority = url.substr(host, path == std::string::npos ? std::string::npos : path - host);
  std::string userpwd;
  size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    userpwd = UrlDecode(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return InvalidArgument(RedactUrl(url) + ": no host in the URL");
  std::string base = url.substr(0, host) + authority + (path == std::string::npos ? "" : url.substr(path));
  while (!base.empty() && base.back() == '/') base.pop_back();
  return std::unique_ptr<Transport>(new HttpTransport(base, userpwd, c.retries));
}

}  // namespace ddl
