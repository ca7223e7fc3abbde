#include "backup/curl_session.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "backup/transport_internal.h"

namespace ddl {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Ctx {
  const HttpRequest* r;
  HttpResponse* resp;
  CURL* curl;
  uint64_t sent = 0;            // position in the request body
  Status local;                 // a local read/write failure or a bound hit inside a callback
  bool error_body_cut = false;  // stopped reading a non-2xx body at kMaxErrorBody
};

size_t ReadBody(char* buf, size_t size, size_t n, void* p) {
  Ctx* c = static_cast<Ctx*>(p);
  const HttpRequest& r = *c->r;
  size_t want = size * n;
  if (r.body) {
    size_t left = r.body->size() - c->sent;
    want = std::min(want, left);
    std::memcpy(buf, r.body->data() + c->sent, want);
  } else {
    want = static_cast<size_t>(std::min<uint64_t>(want, r.src_len - c->sent));
    size_t got = 0;
    Status s = r.src->ReadAt(r.src_off + c->sent, buf, want, &got);
    if (!s.ok() || got != want) {
      c->local = s.ok() ? Truncated(r.src->name() + ": file shrank while being sent") : s;
      return CURL_READFUNC_ABORT;
    }
  }
  c->sent += want;
  return want;
}

int SeekBody(void* p, curl_off_t off, int origin) {
  Ctx* c = static_cast<Ctx*>(p);
  if (origin != SEEK_SET || off < 0) return CURL_SEEKFUNC_CANTSEEK;
  c->sent = static_cast<uint64_t>(off);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t n, void* p) {
  Ctx* c = static_cast<Ctx*>(p);
  const size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
  const bool good = code >= 200 && code < 300;
  if (c->r->dst && good) {
    // A server that ignores Range sends everything (200): write from 0.
    const uint64_t base = (code == 200 && !c->r->range.empty()) ? 0 : c->r->dst_off;
    if (base + c->resp->received + len > c->r->dst_limit) {
      c->local = Corruption(c->r->what + ": the server sends more than the " + std::to_string(c->r->dst_limit) +
                            " bytes expected; cut off");
      return 0;
    }
    Status s = c->r->dst->WriteAt(base + c->resp->received, data, len);
    if (!s.ok()) {
      c->local = s;
      return 0;
    }
    c->resp->received += len;
    return len;
  }
  if (good) {
    if (c->resp->body.size() + len > c->r->max_body) {
      c->local = Status(c->r->too_large, c->r->what + ": the answer is larger than " + std::to_string(c->r->max_body) +
                                             " bytes; cut off");
      return 0;
    }
    c->resp->body.append(data, len);
    return len;
  }
  // An error answer: its first few KiB say what is wrong; the rest, which
  // may never end, is not read.
  const size_t room = kMaxErrorBody - std::min(kMaxErrorBody, c->resp->body.size());
  c->resp->body.append(data, std::min(room, len));
  if (len > room) {
    c->error_body_cut = true;
    return 0;
  }
  return len;
}

size_t Header(char* data, size_t size, size_t n, void* p) {
  Ctx* c = static_cast<Ctx*>(p);
  const size_t len = size * n;
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  if (line.compare(0, 5, "HTTP/") == 0) {
    c->resp->headers.clear();  // a new response (after 100 Continue)
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
  size_t v = line.find_first_not_of(" \t", colon + 1);
  c->resp->headers[name] = v == std::string::npos ? "" : line.substr(v);
  return len;
}

int XferInfo(void* p, curl_off_t, curl_off_t dlnow, curl_off_t, curl_off_t ulnow) {
  Ctx* c = static_cast<Ctx*>(p);
  const NetOptions* net = c->r->net;
  if (net && net->progress) net->progress(static_cast<uint64_t>(c->r->dst ? dlnow : ulnow));
  return 0;
}

bool RetryableCurl(CURLcode e) {
  switch (e) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_COULDNT_RESOLVE_HOST: return true;
    default: return false;
  }
}

}  // namespace

CurlSession::CurlSession() {
  GlobalInit();
  curl_ = curl_easy_init();
}

CurlSession::~CurlSession() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Status CurlSession::Once(const HttpRequest& r, HttpResponse* resp, bool* retryable) {
  *retryable = false;
  *resp = HttpResponse();
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) return RemoteError(r.what + ": cannot start libcurl");
  curl_easy_reset(curl);
  Ctx c{&r, resp, curl};
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const long stall = std::max(1, r.stall_seconds);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, std::min(15L, stall));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled transfer: no byte for `stall` s
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, XferInfo);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &c);
  if (!r.userpwd.empty()) curl_easy_setopt(curl, CURLOPT_USERPWD, r.userpwd.c_str());
  if (r.netrc || !r.netrc_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL));
    if (!r.netrc_file.empty()) curl_easy_setopt(curl, CURLOPT_NETRC_FILE, r.netrc_file.c_str());
  }
  if (!r.aws_sigv4.empty()) curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, r.aws_sigv4.c_str());
  if (!r.range.empty()) curl_easy_setopt(curl, CURLOPT_RANGE, r.range.c_str());
  if (r.net && r.net->limit_rate) {
    curl_easy_setopt(curl, CURLOPT_MAX_SEND_SPEED_LARGE, static_cast<curl_off_t>(r.net->limit_rate));
    curl_easy_setopt(curl, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(r.net->limit_rate));
  }
  const bool has_body = r.body || r.src;
  const uint64_t body_len = r.body ? r.body->size() : r.src_len;
  if (r.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT" || (r.method != "GET" && has_body)) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(curl, CURLOPT_READDATA, &c);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &c);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_len));
    if (r.method != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  } else if (r.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  } else if (r.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  struct curl_slist* hdrs = nullptr;
  for (const std::string& h : r.headers) hdrs = curl_slist_append(hdrs, h.c_str());
  if (hdrs) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  CURLcode e = curl_easy_perform(curl);
  curl_slist_free_all(hdrs);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->code);
  resp->sent = c.sent;
  if (!c.local.ok()) return c.local;
  if (e == CURLE_WRITE_ERROR && c.error_body_cut) return Status::Ok();  // the answer's status is known
  if (e != CURLE_OK) {
    *retryable = RetryableCurl(e);
    std::string detail = err[0] ? err : curl_easy_strerror(e);
    while (!detail.empty() && detail.back() == '\n') detail.pop_back();
    return RemoteError(r.what + ": " + detail);
  }
  return Status::Ok();
}

Status WithRetries(const NetOptions& net, const std::function<Status(int n, bool* retryable)>& attempt) {
  for (int n = 0;; n++) {
    bool retryable = false;
    Status s = attempt(n, &retryable);
    if (s.ok() || !retryable || n >= net.retries) return s;
    int ms = std::min(8000, 500 << std::min(n, 4));
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

Status CallWithRetries(const HttpRequest& r, HttpResponse* resp, int retries) {
  CurlSession session;
  NetOptions net;
  net.retries = retries;
  return WithRetries(net, [&](int, bool* retryable) {
    Status s = session.Once(r, resp, retryable);
    if (s.ok() && RetryableHttp(resp->code)) {
      *retryable = true;
      return HttpError(r.what, *resp);
    }
    return s;
  });
}

Result<uint64_t> HeadSize(HttpRequest r, int retries) {
  r.method = "HEAD";
  HttpResponse resp;
  DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries));
  if (resp.code != 200) return HttpError(r.what, resp);
  auto it = resp.headers.find("content-length");
  if (it == resp.headers.end()) return RemoteError(r.what + ": the server gave no Content-Length");
  return static_cast<uint64_t>(std::strtoull(it->second.c_str(), nullptr, 10));
}

Result<std::string> GetSmall(HttpRequest r, int retries) {
  r.method = "GET";
  r.max_body = kMaxSmallObject;
  r.too_large = Code::kCorruption;
  HttpResponse resp;
  DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries));
  if (resp.code != 200) return HttpError(r.what, resp);
  return resp.body;
}

Result<SmallRead> GetSmallIfChanged(HttpRequest r, const std::string& tag, int retries) {
  DDL_RETURN_IF_ERROR(CheckTag(tag, r.what));
  r.method = "GET";
  r.max_body = kMaxSmallObject;
  r.too_large = Code::kCorruption;
  if (!tag.empty()) r.headers.push_back("If-None-Match: " + tag);
  HttpResponse resp;
  DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries));
  SmallRead out;
  if (!tag.empty() && resp.code == 304) {
    out.changed = false;
    out.tag = tag;
    return out;
  }
  if (resp.code != 200) return HttpError(r.what, resp);
  auto etag = resp.headers.find("etag");
  if (etag != resp.headers.end()) out.tag = ServerTag(etag->second);
  out.data = std::move(resp.body);
  return out;
}

Status PutSmall(HttpRequest r, const std::string& data, int retries) {
  r.method = "PUT";
  r.body = &data;
  HttpResponse resp;
  DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries));
  if (resp.code / 100 != 2) return HttpError(r.what, resp);
  return Status::Ok();
}

Status DeleteObject(HttpRequest r, int retries) {
  r.method = "DELETE";
  HttpResponse resp;
  DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, retries));
  if (resp.code / 100 == 2 || resp.code == 404) return Status::Ok();
  return HttpError(r.what, resp);
}

Status PutWithRetries(HttpRequest r, File* src, uint64_t off, uint64_t len, const NetOptions& o, TransferStats* st,
                      HttpResponse* resp) {
  r.src = src;
  r.src_off = off;
  r.src_len = len;
  r.net = &o;
  CurlSession session;
  return WithRetries(o, [&](int, bool* retryable) {
    Status s = session.Once(r, resp, retryable);
    st->bytes_transferred += resp->sent;
    if (!s.ok()) return s;
    if (resp->code / 100 == 2) return Status::Ok();
    *retryable = RetryableHttp(resp->code);
    return HttpError(r.what, *resp);
  });
}

Status GetResumable(HttpRequest r, File* dst, uint64_t have, uint64_t size, const NetOptions& o, TransferStats* st) {
  CurlSession session;
  HttpResponse resp;
  st->resumed_from = have;
  uint64_t at = have;  // bytes of the object in dst
  NetOptions net = o;
  if (o.progress) net.progress = [&](uint64_t b) { o.progress(at - st->resumed_from + b); };
  r.dst = dst;
  r.dst_limit = size;
  r.net = &net;
  return WithRetries(o, [&](int, bool* retryable) {
    r.dst_off = at;
    r.range = at > 0 ? std::to_string(at) + "-" : "";
    Status s = session.Once(r, &resp, retryable);
    st->bytes_transferred += resp.received;
    if (resp.code == 200 && at > 0) st->resumed_from = at = 0;  // the server ignored Range
    if (resp.code == 200 || resp.code == 206) at += resp.received;
    if (!s.ok()) return s;
    if (resp.code == 200 || resp.code == 206) return dst->Truncate(at);
    if (resp.code == 416 && at > 0) {  // the partial copy is not a prefix of this object
      DDL_RETURN_IF_ERROR(dst->Truncate(0));
      st->resumed_from = at = 0;
      *retryable = true;
      return RemoteError(r.what + ": the partial copy is longer than the object");
    }
    *retryable = RetryableHttp(resp.code);
    return HttpError(r.what, resp);
  });
}

std::vector<std::string> XmlValues(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string::npos) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string::npos) break;
    std::string v = xml.substr(start, end - start);
    // The five predefined entities are all S3 uses in these fields.
    static const std::pair<const char*, const char*> kEnt[] = {
        {"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
    for (const auto& [from, to] : kEnt) {
      for (size_t i = 0; (i = v.find(from, i)) != std::string::npos; i += std::strlen(to))
        v.replace(i, std::strlen(from), to);
    }
    out.push_back(v);
    pos = end + close.size();
  }
  return out;
}

Status HttpError(const std::string& what, const HttpResponse& resp) {
  std::string msg = what + ": HTTP " + std::to_string(resp.code);
  static const std::pair<long, const char*> kReasons[] = {
      {400, "Bad Request"},         {401, "Unauthorized"},          {403, "Forbidden"},
      {404, "Not Found"},           {405, "Method Not Allowed"},    {409, "Conflict"},
      {411, "Length Required"},     {413, "Payload Too Large"},     {416, "Range Not Satisfiable"},
      {429, "Too Many Requests"},   {500, "Internal Server Error"}, {502, "Bad Gateway"},
      {503, "Service Unavailable"}, {504, "Gateway Timeout"}};
  for (const auto& [code, reason] : kReasons)
    if (code == resp.code) msg += std::string(" ") + reason;
  std::vector<std::string> code = XmlValues(resp.body, "Code");
  std::vector<std::string> text = XmlValues(resp.body, "Message");
  if (!code.empty()) msg += " (" + code[0] + (text.empty() || text[0].empty() ? "" : ": " + text[0]) + ")";
  if (resp.code == 403 && !code.empty() && code[0] == "SignatureDoesNotMatch")
    msg += "; check AWS_SECRET_ACCESS_KEY";
  else if (resp.code == 403 && !code.empty() && code[0] == "InvalidAccessKeyId")
    msg += "; check AWS_ACCESS_KEY_ID";
  for (char& ch : msg)
    if (ch == '\n' || ch == '\r') ch = ' ';
  const bool missing = resp.code == 404 && (code.empty() || code[0] == "NoSuchKey");
  return Status(missing ? Code::kNotFound : Code::kRemote, msg);
}

std::string UrlEncode(const std::string& s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string o;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' || (keep_slash && ch == '/')) {
      o += static_cast<char>(ch);
    } else {
      o += '%';
      o += kHex[ch >> 4];
      o += kHex[ch & 15];
    }
  }
  return o;
}

}  // namespace ddl
