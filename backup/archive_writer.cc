// archive_writer.cc - PlanArchives and WriteArchive over libarchive's pax
// writer.
#include "backup/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <set>

#include "deltafile/reader.h"

namespace ddl {

namespace {

uint64_t Round512(uint64_t n) { return (n + 511) / 512 * 512; }

// An upper bound of the archive bytes of one member: the ustar header, a pax
// extended header with its records, and the data padded to 512.
uint64_t MemberBound(const std::string& name, uint64_t size) {
  return 512 + 512 + Round512(512 + 3 * name.size()) + Round512(size);
}

// The size bound of a whole archive: catalog, members, the two zero blocks
// that end an archive, padded to whole blocks.
uint64_t ArchiveBound(const Catalog& c, size_t block) {
  uint64_t n = MemberBound(kCatalogName, c.EncodedSize());
  for (const CatalogMember& m : c.members) n += MemberBound(m.name, m.size);
  n += 1024;
  return (n + block - 1) / block * block;
}

std::string BaseName(const std::string& path) {
  size_t s = path.find_last_of('/');
  return s == std::string::npos ? path : path.substr(s + 1);
}

struct SinkContext {
  const ArchiveSink* sink;
  ArchiveWriteReport* report;
  Status status;
};

la_ssize_t SinkWrite(struct archive* a, void* ud, const void* buf, size_t n) {
  auto* c = static_cast<SinkContext*>(ud);
  if (!c->status.ok()) {  // the sink failed before: nothing more reaches it
    archive_set_error(a, EIO, "%s", c->status.message().c_str());
    return -1;
  }
  Status s = (*c->sink)(buf, n);
  if (!s.ok()) {
    c->status = s;
    archive_set_error(a, EIO, "%s", s.message().c_str());
    return -1;
  }
  c->report->bytes += n;
  c->report->blocks++;
  return static_cast<la_ssize_t>(n);
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

}  // namespace

std::string ArchiveName(const std::string& target, uint32_t number, uint32_t count) {
  if (count == 1) return target;
  char b[16];
  std::snprintf(b, sizeof b, ".%03u", number);
  return target + b;
}

Result<ArchivePlan> PlanArchives(const std::vector<std::string>& deltas, const std::string& target,
                                 const ArchiveWriteOptions& o) {
  Env* env = o.env ? o.env : Env::Posix();
  if (deltas.empty()) return InvalidArgument("give at least one deltafile");
  if (o.block_size < 512 || o.block_size % 512 != 0 || o.block_size > kArchiveBlockMax)
    return InvalidArgument("--block-size " + std::to_string(o.block_size) +
                           ": must be a multiple of 512 from 512 to 1 MiB");
  for (unsigned char c : target)
    if (c < 0x20) return InvalidArgument(target + ": archive name has control characters");
  std::vector<CatalogMember> members;
  std::set<std::string> names;
  ArchivePlan plan;
  for (const std::string& path : deltas) {
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<RandomReader> rr, RandomReader::Open(f.get()));
    DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    std::string name = BaseName(path);
    if (!SafeMemberName(name)) return InvalidArgument(path + ": '" + name + "' cannot be an archive member name");
    if (!names.insert(name).second) return InvalidArgument(path + ": a second deltafile named " + name);
    CatalogMember m = DescribeMember(name, size, rr->header(), rr->footer());
    if (!members.empty()) {
      const CatalogMember& p = members.back();
      if (m.volume != p.volume || m.volume_size != p.volume_size)
        return Status(Code::kBrokenChain, path + ": is for another volume than " + p.name);
      if (m.base != p.target)
        return Status(Code::kBrokenChain, path + ": its base " + m.base.ToString() + " is not the target of " + p.name +
                                              " (" + p.target.ToString() + ")");
    }
    members.push_back(m);
    plan.total_bytes += size;
  }

  Catalog proto;
  proto.tool = o.tool;
  proto.created_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  proto.set = Uuid::Random();
  proto.chain_length = members.size();
  proto.this_archive = proto.first_archive = proto.next_archive = std::string(target.size() + 4, 'x');
  proto.next_member = std::string(256, 'x');  // the longest name: the bound holds whatever comes next

  // The catalog without members, with room for the longest numbers its
  // lines can hold: each archive's catalog stays within kCatalogMax, the
  // most a reader accepts.
  Catalog bound = proto;
  bound.number = bound.count = kArchiveSetMax;
  bound.chain_first = bound.chain_length = UINT64_MAX;
  bound.created_ns = UINT64_MAX;
  // + the digits of "members N" and of archive numbers past .999 in the names
  const uint64_t catalog_fixed = bound.EncodedSize() + 64;

  // Greedy: as many whole deltafiles per archive as fit.
  size_t i = 0;
  while (i < members.size()) {
    Catalog c = proto;
    c.number = static_cast<uint32_t>(plan.archives.size() + 1);
    c.chain_first = i + 1;
    std::vector<std::string> paths;
    uint64_t catalog_bytes = catalog_fixed;
    uint64_t member_bytes = 0;
    while (i < members.size()) {
      const uint64_t line = Catalog::MemberLineSize(members[i]);
      if (catalog_bytes + line > kCatalogMax) {
        if (o.media_size == 0)
          return InvalidArgument(deltas[i] + ": deltafile " + std::to_string(i + 1) + " of " +
                                 std::to_string(members.size()) +
                                 " does not fit in the catalog of one archive (at most " + std::to_string(kCatalogMax) +
                                 " bytes, about " + std::to_string((kCatalogMax - catalog_fixed) / line) +
                                 " deltafiles); give --media-size to split the chain into a set of archives");
        break;
      }
      // Bound the archive's size without encoding the catalog at every step.
      if (o.media_size != 0) {
        const uint64_t next = member_bytes + MemberBound(members[i].name, members[i].size);
        const uint64_t total = MemberBound(kCatalogName, catalog_bytes + line) + next + 1024;
        if ((total + o.block_size - 1) / o.block_size * o.block_size > o.media_size) break;
        member_bytes = next;
      }
      catalog_bytes += line;
      c.members.push_back(members[i]);
      paths.push_back(deltas[i]);
      i++;
    }
    if (c.members.empty())
      return InvalidArgument(deltas[i] + ": " + std::to_string(members[i].size) +
                             " bytes do not fit on a medium of --media-size " + std::to_string(o.media_size) +
                             " (with the catalog and tar headers)");
    if (o.media_size != 0 && ArchiveBound(c, o.block_size) > o.media_size)
      return InvalidArgument(c.members.back().name + ": writer bug: the archive's bound exceeds --media-size");
    if (plan.archives.size() == kArchiveSetMax)
      return InvalidArgument(plan.paths.back().back() + ": the chain needs more than " +
                             std::to_string(kArchiveSetMax) + " archives of --media-size " +
                             std::to_string(o.media_size));
    plan.archives.push_back(std::move(c));
    plan.paths.push_back(std::move(paths));
  }
  const uint32_t count = static_cast<uint32_t>(plan.archives.size());
  for (uint32_t k = 0; k < count; k++) {
    Catalog& c = plan.archives[k];
    c.count = count;
    c.first_archive = ArchiveName(target, 1, count);
    c.this_archive = ArchiveName(target, k + 1, count);
    c.next_archive = k + 1 < count ? ArchiveName(target, k + 2, count) : "";
    c.next_member = k + 1 < count ? plan.archives[k + 1].members[0].name : "";
  }
  return plan;
}

Status WriteArchive(const ArchivePlan& plan, size_t index, const ArchiveSink& sink, const ArchiveWriteOptions& o,
                    ArchiveWriteReport* report) {
  Env* env = o.env ? o.env : Env::Posix();
  const Catalog& cat = plan.archives[index];
  const std::string where = cat.this_archive;
  uint64_t done = 0;
  for (size_t k = 0; k < index; k++)
    for (const CatalogMember& m : plan.archives[k].members) done += m.size;

  // ctx outlives a: freeing an archive that failed part way still flushes
  // through SinkWrite, which must find ctx (and refuses to write again).
  SinkContext ctx{&sink, report, Status::Ok()};
  std::unique_ptr<struct archive, ArchiveFree> a(archive_write_new());
  if (!a) return IOError(where + ": libarchive: out of memory");
  auto fail = [&](const char* what) {
    if (!ctx.status.ok()) return ctx.status;
    const char* e = archive_error_string(a.get());
    return IOError(where + ": " + what + ": " + (e ? e : "libarchive error"));
  };
  if (archive_write_set_format_pax(a.get()) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a.get(), static_cast<int>(o.block_size)) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a.get(), static_cast<int>(o.block_size)) != ARCHIVE_OK)
    return fail("setting up the pax writer");
  if (archive_write_open(a.get(), &ctx, nullptr, SinkWrite, nullptr) != ARCHIVE_OK) return fail("open");

  const time_t sec = static_cast<time_t>(cat.created_ns / 1000000000);
  const long nsec = static_cast<long>(cat.created_ns % 1000000000);
  auto header = [&](const std::string& name, uint64_t size) {
    std::unique_ptr<struct archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), sec, nsec);
    archive_entry_set_uname(e.get(), "root");
    archive_entry_set_gname(e.get(), "root");
    return archive_write_header(a.get(), e.get()) == ARCHIVE_OK ? Status::Ok() : fail("writing a header");
  };
  auto data = [&](const void* p, size_t n) {
    la_ssize_t w = archive_write_data(a.get(), p, n);
    return w == static_cast<la_ssize_t>(n) ? Status::Ok() : fail("writing data");
  };

  DDL_ASSIGN_OR_RETURN(const std::string text, cat.Encode(cat.this_archive + ": " + kCatalogName));
  DDL_RETURN_IF_ERROR(header(kCatalogName, text.size()));
  DDL_RETURN_IF_ERROR(data(text.data(), text.size()));

  std::vector<uint8_t> buf(1 << 20);
  for (size_t k = 0; k < cat.members.size(); k++) {
    const CatalogMember& m = cat.members[k];
    const std::string& path = plan.paths[index][k];
    DDL_ASSIGN_OR_RETURN(std::unique_ptr<File> f, env->Open(path, OpenMode::kRead));
    DDL_ASSIGN_OR_RETURN(uint64_t size, f->Size());
    if (size != m.size)
      return Corruption(path + ": size changed from " + std::to_string(m.size) + " to " + std::to_string(size) +
                        " while archiving");
    DDL_RETURN_IF_ERROR(header(m.name, m.size));
    // file_csum covers bytes [512, size - 16): everything but the header and
    // the footer's own checksums.
    const uint64_t hash_end = m.size - 16;
    Xxh64Stream hash;
    for (uint64_t off = 0; off < m.size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), m.size - off));
      DDL_RETURN_IF_ERROR(f->ReadExact(off, buf.data(), n));
      uint64_t hs = std::max<uint64_t>(off, 512), he = std::min<uint64_t>(off + n, hash_end);
      if (hs < he) hash.Update(buf.data() + (hs - off), he - hs);
      DDL_RETURN_IF_ERROR(data(buf.data(), n));
      off += n;
      done += n;
      if (o.progress) o.progress(m.name, done, plan.total_bytes);
    }
    if (hash.Digest() != m.file_csum)
      return Corruption(path + ": file checksum mismatch while archiving (the file is damaged or changed)");
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail("closing");
  if (o.media_size != 0 && report->bytes > o.media_size)
    return IOError(where + ": wrote " + std::to_string(report->bytes) + " bytes, more than --media-size");
  return Status::Ok();
}

}  // namespace ddl
