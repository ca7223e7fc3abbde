// cmd_restore.cc - `ddloop restore -f SOURCE...`: read ddloop archives front
// to back (a file, a pipe, a tape) and list, verify, extract or apply the
// deltafiles they hold (backup/archive_reader.h).
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "backup/archive_reader.h"
#include "backup/archive_source.h"
#include "ddloop/command.h"
#include "ddloop/output.h"

namespace ddl::cli {

namespace {

struct RestoreCmdOptions {
  std::vector<std::string> sources;
  bool list = false;
  bool verify = false;
  std::string extract;
  std::string apply;
  bool json = false;
  bool quiet = false;
};

Json CatalogJson(const std::string& source, const Catalog& c) {
  std::vector<Json> members;
  for (const CatalogMember& m : c.members) {
    Json j;
    j.Str("name", m.name)
        .Num("size", m.size)
        .Bool("seed", m.seed)
        .Obj("base", IdentityJson(m.base))
        .Obj("target", IdentityJson(m.target));
    members.push_back(j);
  }
  Json j;
  j.Str("source", source)
      .Num("number", c.number)
      .Num("count", c.count)
      .Str("set", c.set.ToString())
      .Str("created", IsoTime(c.created_ns))
      .Str("tool", c.tool)
      .Str("volume", c.members[0].volume.ToString())
      .Num("chain_first", c.chain_first)
      .Num("chain_length", c.chain_length)
      .Arr("deltafiles", members)
      .Str("next_archive", c.next_archive)
      .Str("next_member", c.next_member);
  return j;
}

void PrintCatalog(const std::string& source, const Catalog& c) {
  std::printf("%s: archive %u of %u of set %s, %s, %s\n", source.c_str(), c.number, c.count, c.set.ToString().c_str(),
              IsoTime(c.created_ns).c_str(), c.tool.c_str());
  for (const CatalogMember& m : c.members) {
    std::printf("  %-24s %10s  %s -> %s\n", m.name.c_str(), HumanBytes(m.size).c_str(),
                m.seed ? "(seed)" : m.base.ToString().c_str(), m.target.ToString().c_str());
  }
  if (!c.next_archive.empty())
    std::printf("  next: archive %u (%s), starting with %s\n", c.number + 1, c.next_archive.c_str(),
                c.next_member.c_str());
}

Status Run(const RestoreCmdOptions& o) {
  if (!o.list && !o.verify && o.extract.empty() && o.apply.empty())
    return InvalidArgument("give --list, --verify, --extract DIR or --apply IMG");
  if (!o.extract.empty()) {
    struct stat st;
    if (::stat(o.extract.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return InvalidArgument(o.extract + ": not a directory (--extract needs an existing directory)");
  }
  std::vector<std::unique_ptr<ArchiveSource>> sources;
  std::vector<Stream*> streams;
  for (const std::string& path : o.sources) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<ArchiveSource> src, ArchiveSource::Open(Env::Posix(), path));
    streams.push_back(src->stream());
    sources.push_back(std::move(src));
  }
  const bool human = !o.quiet && !o.json;
  Progress progress(human);
  RestoreOptions ro;
  ro.verify = o.verify;
  ro.extract_dir = o.extract;
  ro.apply_image = o.apply;
  ro.apply.threads = DefaultThreads();
  ro.apply.note = [&](const std::string& line) {
    if (!human) return;
    progress.Finish();
    std::fprintf(stderr, "ddloop restore: %s\n", line.c_str());
  };
  ro.progress = [&](const std::string& name, uint64_t d, uint64_t t) { progress.Update("restore " + name, d, t); };
  ro.on_catalog = [&](const std::string& source, const Catalog& c) {
    if (!human || !o.list) return;
    progress.Finish();
    PrintCatalog(source, c);
  };
  ro.on_member = [&](const MemberResult& m) {
    if (!human || m.action == "listed") return;
    progress.Finish();
    const std::string where = m.source + ": " + m.name + ": ";
    if (m.grade == Grade::kFailed) {
      std::string why = m.status.message();
      if (why.compare(0, where.size(), where) == 0) why = why.substr(where.size());
      std::printf("%sFAILED: %s\n", where.c_str(), why.c_str());
    } else
      std::printf("%s: %s: %s\n", m.source.c_str(), m.name.c_str(), m.action.c_str());
    std::fflush(stdout);
  };
  RestoreReport rep;
  Status s = RestoreArchives(streams, ro, &rep);
  progress.Finish();
  if (o.json) {
    std::vector<Json> cats, members;
    for (const auto& [source, c] : rep.catalogs) cats.push_back(CatalogJson(source, c));
    for (const MemberResult& m : rep.members) {
      Json j;
      j.Str("source", m.source)
          .Str("name", m.name)
          .Num("size", m.size)
          .Str("action", m.action)
          .Bool("ok", m.grade != Grade::kFailed);
      if (m.grade == Grade::kFailed) j.Str("error", m.status.message());
      members.push_back(j);
    }
    Json j;
    j.Arr("archives", cats).Arr("deltafiles", members).Num("failed", rep.failed).Bool("ok", s.ok());
    if (!s.ok()) j.Str("error", s.message());
    if (!o.apply.empty())
      j.Str("image", o.apply)
          .Num("applied", rep.apply.applied)
          .Num("skipped", rep.apply.skipped)
          .Num("bytes_written", rep.apply.bytes_written)
          .Obj("result", IdentityJson(rep.apply.result));
    std::printf("%s\n", j.Dump().c_str());
  } else if (human && s.ok() && !o.apply.empty()) {
    std::printf("%s: at %s (%d applied, %d already there%s, %s written)\n", o.apply.c_str(),
                rep.apply.result.ToString().c_str(), rep.apply.applied, rep.apply.skipped,
                rep.apply.resumed ? ", resumed" : "", HumanBytes(rep.apply.bytes_written).c_str());
  }
  return s;
}

}  // namespace

Command SetupRestore(CLI::App& root) {
  auto o = std::make_shared<RestoreCmdOptions>();
  CLI::App* app = root.add_subcommand("restore", "Read ddloop archives front to back: list, verify, extract, apply");
  app->add_option("-f,--file", o->sources,
                  "Archive to read: a file, '-' (standard input) or a tape; repeat for the archives of a set, in order")
      ->required();
  app->add_flag("--list", o->list, "Print the catalog of every archive");
  app->add_flag("--verify", o->verify, "Check every deltafile fully, writing nothing");
  app->add_option("--extract", o->extract, "Write the deltafiles into this directory, each verified first");
  app->add_option("--apply", o->apply, "Apply the deltafiles to this image as they are read (crash-safe)");
  app->add_flag("--json", o->json, "Print a JSON result");
  app->add_flag("-q,--quiet", o->quiet, "Print nothing on success");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
