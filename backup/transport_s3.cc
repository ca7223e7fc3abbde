// transport_s3.cc - s3://bucket/prefix: S3-compatible object storage
// (AWS, Ceph RGW, MinIO, ...). Requests are signed by libcurl
// (CURLOPT_AWS_SIGV4) with the payload declared UNSIGNED-PAYLOAD; with an
// endpoint the bucket is addressed path-style (ENDPOINT/BUCKET/KEY), else
// virtual-host style on amazonaws.com.
//
// libcurl signs the query string exactly as given, so every query here is
// built by Query(): parameters sorted by name, values percent-encoded, and
// every parameter written with '=' ("uploads=").
//
// Objects larger than one part go up as a multipart upload whose id and
// completed parts (number, ETag) are kept in a state file under
// TransportConfig::state_dir, so an interrupted upload resumes from the
// last completed part. The object only exists once the upload completes.
// The state file is written with WriteFileAtomic and reopened only with
// OpenMode::kResume (a regular file of ours, not a link); the state
// directory is created 0700.
//
// A listing is read page by page (ListObjectsV2): each page at most
// kMaxPageBytes, at most kMaxListPages pages and kMaxListNames names, and
// a continuation token seen before is an error (a broken server).
// CreateSmall PUTs with "If-None-Match: *" (412 when the key exists; Ceph
// RGW and AWS honour it) and reads the object back, so a server that
// ignores the header is caught unless two writers race within one round trip.
#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "backup/curl_session.h"
#include "backup/s3_upload_state.h"
#include "backup/transport_internal.h"
#include "deltafile/hash.h"
#include "deltafile/hex.h"

namespace ddl {

namespace {

constexpr uint64_t kPartSize = 16ull << 20;  // S3's minimum is 5 MiB
constexpr size_t kParallelParts = 2;
constexpr uint64_t kMaxParts = kS3MaxParts;
constexpr size_t kMaxPageBytes = 16u << 20;
constexpr size_t kMaxListPages = 100000;

using Params = std::vector<std::pair<std::string, std::string>>;

std::string Query(Params p) {
  std::sort(p.begin(), p.end());
  std::string q;
  for (const auto& [k, v] : p) q += (q.empty() ? "?" : "&") + UrlEncode(k, false) + "=" + UrlEncode(v, false);
  return q;
}

class S3Transport : public Transport {
 public:
  S3Transport(std::string bucket, std::string prefix, TransportConfig c)
      : bucket_(std::move(bucket)), prefix_(std::move(prefix)), c_(std::move(c)) {
    if (!c_.endpoint.empty()) {
      while (c_.endpoint.back() == '/') c_.endpoint.pop_back();
      host_base_ = c_.endpoint + "/" + UrlEncode(bucket_, false);
    } else {
      host_base_ = "https://" + bucket_ + ".s3." + c_.region + ".amazonaws.com";
    }
  }

  std::string Describe(const std::string& key) const override { return "s3://" + bucket_ + "/" + Key(key); }

  Result<uint64_t> Size(const std::string& key) override { return HeadSize(Request("HEAD", key), c_.retries); }
  Result<std::string> ReadSmall(const std::string& key) override { return GetSmall(Request("GET", key), c_.retries); }
  Result<SmallRead> ReadSmallIfChanged(const std::string& key, const std::string& tag) override {
    return GetSmallIfChanged(Request("GET", key), tag, c_.retries);
  }
  Status WriteSmall(const std::string& key, const std::string& data) override {
    return PutSmall(Request("PUT", key), data, c_.retries);
  }

  Status Upload(const std::string& key, File* src, uint64_t size, const NetOptions& o, TransferStats* st) override {
    uint64_t part = kPartSize;
    while ((size + part - 1) / part > kMaxParts) part *= 2;
    HttpResponse resp;
    if (size <= part) {
      HttpRequest r = Request("PUT", key);
      r.headers.push_back("Content-Type: application/octet-stream");
      return PutWithRetries(r, src, 0, size, o, st, &resp);
    }
    Status s = Multipart(key, src, size, part, o, st);
    if (s.code() == Code::kNotFound) {  // the remembered upload is gone: start over
      Env::Posix()->Remove(StatePath(key));
      st->resumed_from = 0;
      s = Multipart(key, src, size, part, o, st);
    }
    return s;
  }

  Status CreateSmall(const std::string& key, const std::string& data) override {
    HttpRequest r = Request("PUT", key);
    r.headers.push_back("If-None-Match: *");
    r.body = &data;
    HttpResponse resp;
    DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, c_.retries));
    if (resp.code == 412 || resp.code == 409) {
      // Taken, or our own earlier attempt whose answer was lost.
      Result<std::string> now = ReadSmall(key);
      if (now.ok() && *now == data) return Status::Ok();
      return Status(Code::kExists, Describe(key) + ": exists already");
    }
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
    const std::string want = Key(dir) + "/";
    std::vector<std::string> names;
    std::string token;
    std::set<std::string> tokens;
    for (size_t page = 0;; page++) {
      const std::string what = "s3://" + bucket_ + "/" + want;
      if (page == kMaxListPages)
        return RemoteError(what + ": the listing goes on past " + std::to_string(kMaxListPages) + " pages");
      Params p = {{"list-type", "2"}, {"prefix", want}};
      if (!token.empty()) p.push_back({"continuation-token", token});
      HttpRequest r = Request("GET", "", Query(p));
      r.url = host_base_ + "/" + Query(p);
      r.what = what;
      r.max_body = kMaxPageBytes;
      HttpResponse resp;
      DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, c_.retries));
      if (resp.code != 200) return HttpError(r.what, resp);
      for (const std::string& k : XmlValues(resp.body, "Key")) {
        std::string n = k.substr(std::min(k.size(), want.size()));
        if (k.compare(0, want.size(), want) == 0 && !n.empty() && n.find('/') == std::string::npos) names.push_back(n);
      }
      std::vector<std::string> next = XmlValues(resp.body, "NextContinuationToken");
      std::vector<std::string> more = XmlValues(resp.body, "IsTruncated");
      if (names.size() > kMaxListNames)
        return RemoteError(what + ": lists more than " + std::to_string(kMaxListNames) + " names");
      if (more.empty() || more[0] != "true" || next.empty()) break;
      token = next[0];
      if (!tokens.insert(token).second)
        return RemoteError(what + ": the server repeats a continuation token (after page " + std::to_string(page + 1) +
                           "); its listing would never end");
    }
    return names;
  }

  Status Remove(const std::string& key) override { return DeleteObject(Request("DELETE", key), c_.retries); }

 private:
  std::string Key(const std::string& key) const {
    if (prefix_.empty()) return key;
    return key.empty() ? prefix_ : prefix_ + "/" + key;
  }

  HttpRequest Request(const std::string& method, const std::string& key, const std::string& query = "") const {
    HttpRequest r;
    r.method = method;
    r.url = host_base_ + "/" + UrlEncode(Key(key), true) + query;
    r.what = Describe(key);
    r.userpwd = c_.access_key + ":" + c_.secret_key;
    r.stall_seconds = c_.stall_seconds;
    r.aws_sigv4 = "aws:amz:" + c_.region + ":s3";
    r.headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (!c_.session_token.empty()) r.headers.push_back("x-amz-security-token: " + c_.session_token);
    return r;
  }

  std::string StatePath(const std::string& key) const {
    const std::string d = Describe(key);
    return c_.state_dir + "/s3-upload-" + Hex64(Xxh64(d.data(), d.size()));
  }

  // The state file, only if it is a regular file of ours (not a link
  // planted at its name).
  static Result<std::string> ReadState(const std::string& path) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, Env::Posix()->Open(path, OpenMode::kResume));
    DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    if (size > (1u << 20)) return Corruption(path + ": unexpectedly large");
    std::string s(size, '\0');
    DDL_RETURN_IF_ERROR(f->ReadExact(0, s.data(), s.size()));
    return s;
  }

  Status SaveState(const std::string& path, const S3UploadState& u) {
    DDL_ASSIGN_OR_RETURN(std::string text, u.Encode(path));
    return WriteFileAtomic(Env::Posix(), path, text);
  }

  Status Multipart(const std::string& key, File* src, uint64_t size, uint64_t part, const NetOptions& o,
                   TransferStats* st) {
    Env* env = Env::Posix();
    const std::string state_path = StatePath(key);
    S3UploadState u;
    if (env->Exists(state_path)) {
      Result<std::string> text = ReadState(state_path);
      if (!text.ok() || !u.Decode(*text, state_path) || u.object != Describe(key) || u.size != size ||
          u.part_size != part)
        u = S3UploadState();
    }
    if (u.upload_id.empty()) {
      HttpResponse resp;
      std::string none;
      HttpRequest r = Request("POST", key, Query({{"uploads", ""}}));
      r.body = &none;
      r.headers.push_back("Content-Type: application/octet-stream");
      DDL_RETURN_IF_ERROR(CallWithRetries(r, &resp, c_.retries));
      std::vector<std::string> id = XmlValues(resp.body, "UploadId");
      if (resp.code != 200) return Status(Code::kRemote, HttpError(Describe(key), resp).message());
      if (id.empty() || id[0].empty()) return RemoteError(Describe(key) + ": no UploadId in the answer to ?uploads");
      u.object = Describe(key);
      u.upload_id = id[0];
      u.size = size;
      u.part_size = part;
      DDL_RETURN_IF_ERROR(MakeDirs(c_.state_dir, 0700));
      DDL_RETURN_IF_ERROR(SaveState(state_path, u).Prefix("cannot remember the upload id"));
    }
    const uint64_t parts = (size + part - 1) / part;
    for (const auto& [n, e] : u.etags) st->resumed_from += std::min(part, size - (n - 1) * part);
    std::vector<uint64_t> todo;
    for (uint64_t n = 1; n <= parts; n++)
      if (!u.etags.count(n)) todo.push_back(n);
    // Parts go up kParallelParts at a time (one per connection), which hides
    // each part's round trip and commit on the server; with --limit-rate,
    // one at a time, so the limit stays the limit of the transfer.
    const size_t workers = std::min<size_t>(o.limit_rate ? 1 : kParallelParts, std::max<size_t>(todo.size(), 1));
    std::mutex mu;  // guards everything below, u and *st
    size_t next = 0;
    uint64_t done_bytes = 0;  // parts finished this run
    std::vector<uint64_t> in_flight(workers, 0);
    Status failed;
    auto worker = [&](size_t w) {
      for (;;) {
        uint64_t n;
        {
          std::lock_guard<std::mutex> l(mu);
          if (!failed.ok() || next == todo.size()) return;
          n = todo[next++];
        }
        const uint64_t off = (n - 1) * part, len = std::min(part, size - off);
        NetOptions po = o;
        if (o.progress) {
          po.progress = [&, w](uint64_t b) {
            std::lock_guard<std::mutex> l(mu);
            in_flight[w] = b;
            uint64_t t = done_bytes;
            for (uint64_t x : in_flight) t += x;
            o.progress(t);
          };
        }
        HttpRequest r = Request("PUT", key, Query({{"partNumber", std::to_string(n)}, {"uploadId", u.upload_id}}));
        HttpResponse resp;
        TransferStats ps;
        Status s = PutWithRetries(r, src, off, len, po, &ps, &resp);
        std::lock_guard<std::mutex> l(mu);
        st->bytes_transferred += ps.bytes_transferred;
        in_flight[w] = 0;
        auto etag = resp.headers.find("etag");
        if (s.ok() && etag == resp.headers.end())
          s = RemoteError(Describe(key) + ": no ETag for part " + std::to_string(n));
        if (!s.ok()) {
          if (failed.ok()) failed = resp.code == 404 ? Status(Code::kNotFound, s.message()) : s;  // 404: NoSuchUpload
          return;
        }
        u.etags[n] = etag->second;
        done_bytes += len;
        Status saved = SaveState(state_path, u);
        if (!saved.ok() && failed.ok()) failed = saved;
      }
    };
    std::vector<std::thread> threads;
    for (size_t w = 1; w < workers; w++) threads.emplace_back(worker, w);
    worker(0);
    for (std::thread& t : threads) t.join();
    if (!failed.ok()) return failed;
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& [n, e] : u.etags)
      xml += "<Part><PartNumber>" + std::to_string(n) + "</PartNumber><ETag>" + e + "</ETag></Part>";
    xml += "</CompleteMultipartUpload>";
    HttpRequest r = Request("POST", key, Query({{"uploadId", u.upload_id}}));
    r.body = &xml;
    r.headers.push_back("Content-Type: application/xml");
    HttpResponse resp;
    Status s = CallWithRetries(r, &resp, c_.retries);
    if (s.ok() && (resp.code != 200 || resp.body.find("<Error>") != std::string::npos)) {
      // Completed by an earlier attempt whose answer was lost?
      Result<uint64_t> have = Size(key);
      if (have.ok() && *have == size) {
        env->Remove(state_path);
        return Status::Ok();
      }
      return Status(Code::kRemote, HttpError(Describe(key), resp).message());
    }
    if (!s.ok()) return s;
    env->Remove(state_path);
    return Status::Ok();
  }

  std::string bucket_, prefix_;
  TransportConfig c_;
  std::string host_base_;  // where keys are appended: ENDPOINT/BUCKET or https://BUCKET.s3...
};

}  // namespace

Result<std::unique_ptr<Transport>> OpenS3Transport(const std::string& url, const TransportConfig& c) {
  std::string rest = url.substr(5);  // after s3://
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (bucket.empty()) return InvalidArgument(RedactUrl(url) + ": no bucket in the URL (s3://BUCKET/PREFIX)");
  if (c.access_key.empty() || c.secret_key.empty())
    return InvalidArgument("s3://" + bucket + ": no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  if (c.state_dir.empty()) return InvalidArgument("s3://" + bucket + ": no state directory for multipart uploads");
  TransportConfig cc = c;
  if (cc.region.empty()) cc.region = "us-east-1";
  return std::unique_ptr<Transport>(new S3Transport(bucket, prefix, cc));
}

}  // namespace ddl
