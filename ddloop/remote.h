// remote.h - what push, pull, ls and rm share: the repository options
// (--endpoint, --region, --state-dir, --retries, --timeout, --netrc,
// --netrc-file), reading the AWS_* environment, opening the Transport
// (with a warning on stderr when a password would go over plain http://),
// and the JSON/human report of a run.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backup/repository.h"
#include "backup/transport.h"

namespace ddl::cli {

struct RemoteOptions {
  std::string url;
  std::string endpoint;   // --endpoint, else AWS_ENDPOINT_URL
  std::string region;     // --region, else AWS_REGION, AWS_DEFAULT_REGION, us-east-1
  std::string state_dir;  // --state-dir, else $XDG_STATE_HOME/ddloop, ~/.local/state/ddloop
  int retries = 5;
  int timeout = 60;        // --timeout: seconds without a byte before a transfer fails
  bool netrc = false;      // --netrc: HTTP credentials from ~/.netrc
  std::string netrc_file;  // --netrc-file FILE
};

// Declares --endpoint, --region, --retries, --timeout, --netrc and
// --netrc-file (and --state-dir when `state` is true) on app.
void AddRemoteOptions(CLI::App* app, RemoteOptions* o, bool state);

// Opens o.url with credentials from the environment or a netrc file
// (never printed); warns on stderr when they would go over plain http://.
Result<std::unique_ptr<Transport>> OpenRemote(const RemoteOptions& o);
// OpenRemote for any URL with o's other options: for the commands that talk
// to several repositories (a replica's upstream and its forwards).
std::function<Result<std::unique_ptr<Transport>>(const std::string& url)> RemoteOpener(const RemoteOptions& o);

// Options of a transfer command (push, pull).
struct TransferCmdOptions {
  int jobs = 1;
  std::string limit_rate;  // "RATE": bytes/s with K/M/G suffixes
  bool json = false;
  bool quiet = false;
};
void AddTransferOptions(CLI::App* app, TransferCmdOptions* o);

// RepoOptions for the command line; `progress_label` names the progress
// line, drawn on a terminal unless --json or -q.
class TransferRun {
 public:
  TransferRun(const TransferCmdOptions& o, const RemoteOptions& r, std::string progress_label);
  ~TransferRun();
  Status Setup(RepoOptions* ro);
  // Prints the report (JSON object with a "files" array, or one line per
  // file) and returns `s`.
  Status Report(const std::vector<FileResult>& files, const Status& s, const char* verb);
  // Clears the progress line (for a command that prints its own report).
  void FinishProgress();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ddl::cli
