#include "ddloop/remote.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "ddloop/output.h"

namespace ddl::cli {

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void AddRemoteOptions(CLI::App* app, RemoteOptions* o, bool state) {
  app->add_option("--endpoint", o->endpoint,
                  "S3 endpoint URL of a non-AWS server (path-style); default AWS_ENDPOINT_URL");
  app->add_option("--region", o->region, "S3 signing region (default AWS_REGION, AWS_DEFAULT_REGION or us-east-1)");
  app->add_option("--retries", o->retries, "Attempts after a network error, 5xx or 429 (default 5)")
      ->check(CLI::Range(0, 100));
  app->add_option("--timeout", o->timeout, "Seconds without a byte moving before a transfer fails (default 60)")
      ->check(CLI::Range(1, 3600));
  app->add_flag("--netrc", o->netrc, "HTTP user and password from ~/.netrc");
  app->add_option("--netrc-file", o->netrc_file, "HTTP user and password from this netrc file");
  if (state)
    app->add_option("--state-dir", o->state_dir,
                    "Where S3 multipart upload ids are kept (default $XDG_STATE_HOME/ddloop)");
}

Result<std::unique_ptr<Transport>> OpenRemote(const RemoteOptions& o) {
  TransportConfig c;
  c.endpoint = !o.endpoint.empty() ? o.endpoint : Env("AWS_ENDPOINT_URL");
  c.region = !o.region.empty() ? o.region : !Env("AWS_REGION").empty() ? Env("AWS_REGION") : Env("AWS_DEFAULT_REGION");
  if (c.region.empty()) c.region = "us-east-1";
  c.access_key = Env("AWS_ACCESS_KEY_ID");
  c.secret_key = Env("AWS_SECRET_ACCESS_KEY");
  c.session_token = Env("AWS_SESSION_TOKEN");
  c.state_dir = o.state_dir;
  c.retries = o.retries;
  c.stall_seconds = o.timeout;
  c.netrc = o.netrc;
  c.netrc_file = o.netrc_file;
  if (!c.netrc_file.empty()) {
    Result<std::string> text = ReadSmallFile(ddl::Env::Posix(), c.netrc_file);
    if (!text.ok()) return Status(text.status().code(), "--netrc-file " + text.status().message());
  }
  std::string userinfo, plain;
  const bool http = o.url.compare(0, 7, "http://") == 0;
  if (http && (SplitUserinfo(o.url, &userinfo, &plain) || c.netrc || !c.netrc_file.empty()))
    std::fprintf(stderr, "ddloop: warning: %s: the password is sent unencrypted over plain http:// (use https://)\n",
                 RedactUrl(o.url).c_str());
  if (c.state_dir.empty()) {
    if (!Env("XDG_STATE_HOME").empty())
      c.state_dir = Env("XDG_STATE_HOME") + "/ddloop";
    else if (!Env("HOME").empty())
      c.state_dir = Env("HOME") + "/.local/state/ddloop";
    else
      c.state_dir = "/var/lib/ddloop/state";
  }
  return OpenTransport(o.url, c);
}

std::function<Result<std::unique_ptr<Transport>>(const std::string& url)> RemoteOpener(const RemoteOptions& o) {
  return [o](const std::string& url) {
    RemoteOptions u = o;
    u.url = url;
    return OpenRemote(u);
  };
}

void AddTransferOptions(CLI::App* app, TransferCmdOptions* o) {
  app->add_option("--jobs", o->jobs, "Deltafiles transferred at once (default 1)")->check(CLI::Range(1, 64));
  app->add_option("--limit-rate", o->limit_rate, "Bytes per second per transfer (K, M, G suffixes)");
  app->add_flag("--json", o->json, "Print a JSON summary");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
}

struct TransferRun::Impl {
  TransferCmdOptions o;
  RemoteOptions r;
  std::string label;
  Progress progress;
  Impl(const TransferCmdOptions& o, const RemoteOptions& r, std::string l)
      : o(o), r(r), label(std::move(l)), progress(!o.quiet && !o.json) {}
};

TransferRun::TransferRun(const TransferCmdOptions& o, const RemoteOptions& r, std::string label)
    : impl_(new Impl(o, r, std::move(label))) {}
TransferRun::~TransferRun() = default;

Status TransferRun::Setup(RepoOptions* ro) {
  ro->jobs = impl_->o.jobs;
  ro->net.retries = impl_->r.retries;
  if (!impl_->o.limit_rate.empty())
    DDL_RETURN_IF_ERROR(SizeOption("--limit-rate", impl_->o.limit_rate, &ro->net.limit_rate));
  Impl* impl = impl_.get();
  ro->progress = [impl](uint64_t done, uint64_t total) { impl->progress.Update(impl->label, done, total); };
  return Status::Ok();
}

void TransferRun::FinishProgress() { impl_->progress.Finish(); }

Status TransferRun::Report(const std::vector<FileResult>& files, const Status& s, const char* verb) {
  impl_->progress.Finish();
  uint64_t bytes = 0;
  int moved = 0, skipped = 0, failed = 0;
  for (const FileResult& f : files) {
    bytes += f.stats.bytes_transferred;
    moved += f.status == "transferred";
    skipped += f.status == "skipped";
    failed += f.status == "failed";
  }
  if (impl_->o.json) {
    std::vector<Json> list;
    for (const FileResult& f : files) {
      Json j;
      j.Str("name", f.name)
          .Num("size", f.size)
          .Num("bytes_transferred", f.stats.bytes_transferred)
          .Num("resumed_from", f.stats.resumed_from)
          .Str("status", f.status.empty() ? "failed" : f.status);
      if (!f.error.ok()) j.Str("error", f.error.message());
      list.push_back(j);
    }
    Json j;
    j.Str("url", RedactUrl(impl_->r.url))
        .Arr("files", list)
        .Num("transferred", moved)
        .Num("skipped", skipped)
        .Num("failed", failed)
        .Num("bytes_transferred", bytes);
    std::printf("%s\n", j.Dump().c_str());
  } else if (!impl_->o.quiet && s.ok()) {
    for (const FileResult& f : files) {
      if (f.status == "skipped") {
        std::printf("%s: already there\n", f.name.c_str());
      } else {
        std::printf("%s: %s %s", f.name.c_str(), verb, HumanBytes(f.size).c_str());
        if (f.stats.resumed_from) std::printf(" (resumed after %s)", HumanBytes(f.stats.resumed_from).c_str());
        std::printf("\n");
      }
    }
  }
  std::fflush(stdout);
  return s;
}

}  // namespace ddl::cli
