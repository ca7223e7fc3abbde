// cmd_info.cc - `ddloop info FILE`: header, identities, sizes, records.
#include <cstdio>
#include <memory>

#include "ddloop/command.h"
#include "ddloop/output.h"
#include "deltafile/reader.h"

namespace ddl::cli {

namespace {

struct InfoOptions {
  std::vector<std::string> files;
  bool json = false;
};

std::string Features(uint64_t incompat, uint64_t compat) {
  std::string s = (incompat & DDL_INCOMPAT_ZSTD) ? "zstd" : "none";
  if (compat) s += ", compat " + std::to_string(compat);
  return s;
}

Status InfoOne(const std::string& path, bool json) {
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, Env::Posix()->Open(path, OpenMode::kRead));
  DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
  const Header& h = rr->header();
  const Footer& ft = rr->footer();
  DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
  uint64_t data_records = 0;
  for (const IndexEntry& e : rr->entries()) data_records += e.type == DDL_REC_DATA;
  const double ratio = ft.payload_bytes ? double(ft.data_bytes) / double(ft.payload_bytes) : 0;
  if (json) {
    Json j;
    j.Str("file", path)
        .Num("version", h.version)
        .Str("kind", h.seed() ? "seed" : "incremental")
        .Str("volume_uuid", h.volume_uuid.ToString())
        .Num("volume_size", h.volume_size)
        .Num("chunk_size", h.chunk_size())
        .Num("chunks", h.chunk_count())
        .Num("frame_max", h.frame_max)
        .Str("codec", h.codec == DDL_CODEC_ZSTD ? "zstd" : "none")
        .Str("created", IsoTime(h.create_time_ns))
        .Num("incompat_features", h.incompat)
        .Num("compat_features", h.compat)
        .Obj("base", IdentityJson(h.base))
        .Obj("target", IdentityJson(h.target))
        .Num("records", ft.record_count)
        .Num("data_records", data_records)
        .Num("zero_records", ft.record_count - data_records)
        .Num("changed_chunks", ft.changed_chunks)
        .Num("data_bytes", ft.data_bytes)
        .Num("zero_bytes", ft.zero_bytes)
        .Num("payload_bytes", ft.payload_bytes)
        .Num("file_size", size)
        .Real("compression_ratio", ratio)
        .Num("index_blocks", ft.index_blocks);
    std::printf("%s\n", j.Dump().c_str());
    return Status::Ok();
  }
  std::printf("file:          %s\n", path.c_str());
  std::printf("format:        deltafile version %u, features: %s\n", h.version, Features(h.incompat, h.compat).c_str());
  std::printf("kind:          %s\n", h.seed() ? "seed (no base)" : "incremental");
  std::printf("volume:        %s\n",
              h.volume_uuid.IsNil() ? "unbound (no lineage UUID)" : h.volume_uuid.ToString().c_str());
  std::printf("volume size:   %s (%llu bytes)\n", HumanBytes(h.volume_size).c_str(), (unsigned long long)h.volume_size);
  std::printf("chunk size:    %s (%llu chunks), frames up to %s\n", HumanBytes(h.chunk_size()).c_str(),
              (unsigned long long)h.chunk_count(), HumanBytes(h.frame_max).c_str());
  std::printf("created:       %s\n", IsoTime(h.create_time_ns).c_str());
  if (!h.seed())
    std::printf("base:          snapshot %s\n               fingerprint %s\n", h.base.snapshot.ToString().c_str(),
                h.base.fingerprint.Hex().c_str());
  std::printf("target:        snapshot %s\n               fingerprint %s\n", h.target.snapshot.ToString().c_str(),
              h.target.fingerprint.Hex().c_str());
  std::printf("records:       %llu (%llu data, %llu zero), %llu index blocks\n", (unsigned long long)ft.record_count,
              (unsigned long long)data_records, (unsigned long long)(ft.record_count - data_records),
              (unsigned long long)ft.index_blocks);
  std::printf("changed:       %llu chunks: %s of data, %s zeroed\n", (unsigned long long)ft.changed_chunks,
              HumanBytes(ft.data_bytes).c_str(), HumanBytes(ft.zero_bytes).c_str());
  std::printf("stored:        %s payload, %s file, compression ratio %.2f\n", HumanBytes(ft.payload_bytes).c_str(),
              HumanBytes(size).c_str(), ratio);
  return Status::Ok();
}

Status Run(const InfoOptions& o) {
  for (size_t i = 0; i < o.files.size(); i++) {
    if (i && !o.json) std::printf("\n");
    DDL_RETURN_IF_ERROR(InfoOne(o.files[i], o.json));
  }
  return Status::Ok();
}

}  // namespace

Command SetupInfo(CLI::App& root) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* app = root.add_subcommand("info", "Show a deltafile's header, identities and sizes");
  app->add_option("file", o->files, "Deltafile(s)")->required();
  app->add_flag("--json", o->json, "Print one JSON object per file");
  return {app, [o] { return Run(*o); }};
}

}  // namespace ddl::cli
