// repo_tool.cc - repository objects from the shell, for the tests that
// run against real servers (tests/cli/test-repo-head.sh,
// test-transport-s3.sh):
//   repo_tool poll URL [TAG]            one conditional read of HEAD
//                                       (ReadHeadIfChanged): prints
//                                       "changed SEQ ENTRY TAG" or "unchanged TAG"
//   repo_tool position URL ID ENTRY     writes replicas/ID at ENTRY's target
//   repo_tool move URL ENTRY            moves HEAD to ENTRY (MoveHead)
// Errors go to stderr, exit 1. S3 settings come from AWS_ENDPOINT_URL,
// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backup/repository_head.h"
#include "deltafile/text_record.h"

namespace ddl {
namespace {

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Status Poll(Transport* t, const std::string& tag) {
  RepoHead head;
  DDL_ASSIGN_OR_RETURN(SmallRead r, ReadHeadIfChanged(t, tag, &head));
  if (r.changed)
    std::printf("changed %llu %s %s\n", static_cast<unsigned long long>(head.seq), head.entry.c_str(), r.tag.c_str());
  else
    std::printf("unchanged %s\n", r.tag.c_str());
  return Status::Ok();
}

Result<CatalogEntry> Find(Transport* t, const std::string& entry) {
  DDL_ASSIGN_OR_RETURN(Listing l, ListDeltas(t));
  for (const CatalogEntry& e : l.entries)
    if (e.name == entry) return e;
  return Status(Code::kNotFound, entry + ": no such delta");
}

Status Position(Transport* t, const std::string& id, const std::string& entry) {
  DDL_ASSIGN_OR_RETURN(CatalogEntry e, Find(t, entry));
  {
    ReplicaPosition p;
    p.id = id;
    if (!Uuid::Parse(e.target_snapshot, &p.at.snapshot) ||
        !ParseFingerprintHex(e.target_fingerprint, &p.at.fingerprint))
      return Corruption(entry + ": bad target");
    p.snapshot_name = e.target_name;
    p.updated_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    return WriteReplicaPosition(t, p);
  }
}

Status Move(Transport* t, const std::string& entry) {
  DDL_ASSIGN_OR_RETURN(CatalogEntry e, Find(t, entry));
  return MoveHead(t, e);
}

int Main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "poll" && (argc == 3 || argc == 4)) || (mode == "position" && argc == 5) ||
        (mode == "move" && argc == 4))) {
    std::fprintf(stderr, "usage: repo_tool poll URL [TAG] | position URL ID ENTRY | move URL ENTRY\n");
    return 2;
  }
  TransportConfig c;
  c.endpoint = Getenv("AWS_ENDPOINT_URL");
  c.region = Getenv("AWS_REGION");
  c.access_key = Getenv("AWS_ACCESS_KEY_ID");
  c.secret_key = Getenv("AWS_SECRET_ACCESS_KEY");
  c.state_dir = "/nonexistent";  // no multipart uploads here
  c.retries = 0;
  Result<std::unique_ptr<Transport>> t = OpenTransport(argv[2], c);
  Status s = t.status();
  if (s.ok() && mode == "poll") s = Poll(t->get(), argc == 4 ? argv[3] : "");
  if (s.ok() && mode == "position") s = Position(t->get(), argv[3], argv[4]);
  if (s.ok() && mode == "move") s = Move(t->get(), argv[3]);
  if (!s.ok()) {
    std::fprintf(stderr, "repo_tool: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ddl

int main(int argc, char** argv) { return ddl::Main(argc, argv); }
