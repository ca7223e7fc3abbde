// archive_catalog.cc - encoding, decoding and checking of archive catalogs.
#include "backup/archive_catalog.h"

#include "deltafile/hex.h"
#include "deltafile/text_record.h"

namespace ddl {

namespace {

const TextFormat& CatalogFormat() {
  static const TextFormat f = [] {
    TextFormat t;
    t.magic = "ddloop-archive-catalog 1";
    t.what = "archive catalog";
    t.max_bytes = kCatalogMax;
    t.max_line = 16384;   // an archive name (a -f path) fits
    t.max_lines = 65536;  // a member line is over 300 bytes: bounded by max_bytes first
    t.repeatable = {"member"};
    return t;
  }();
  return f;
}

bool HasControl(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

bool ParseIdentity(std::string_view snap, std::string_view fp, Identity* id) {
  return Uuid::Parse(std::string(snap), &id->snapshot) && ParseFingerprintHex(fp, &id->fingerprint);
}

// The value of a "member" line (after "member ").
std::string MemberValue(const CatalogMember& m) {
  return std::to_string(m.size) + " " + Hex64(m.header_csum) + " " + Hex64(m.file_csum) + " " + m.volume.ToString() +
         " " + std::to_string(m.volume_size) + " " + (m.seed ? "seed" : "delta") + " " + m.base.snapshot.ToString() +
         " " + m.base.fingerprint.Hex() + " " + m.target.snapshot.ToString() + " " + m.target.fingerprint.Hex() + " " +
         m.name;
}

// Splits `s` at single spaces into n fields; the last takes the rest.
bool SplitFields(std::string_view s, size_t n, std::vector<std::string_view>* out) {
  out->clear();
  while (out->size() + 1 < n) {
    const size_t sp = s.find(' ');
    if (sp == std::string_view::npos) return false;
    out->push_back(s.substr(0, sp));
    s.remove_prefix(sp + 1);
  }
  out->push_back(s);
  return true;
}

TextWriter Write(const Catalog& c) {
  TextWriter w(CatalogFormat());
  w.Add("tool", c.tool);
  w.AddU64("created_ns", c.created_ns);
  w.AddUuid("set", c.set);
  w.Add("archive", std::to_string(c.number) + " of " + std::to_string(c.count));
  w.Add("first_archive", c.first_archive);
  w.Add("this_archive", c.this_archive);
  w.Add("next_archive", c.next_archive);
  w.Add("next_member", c.next_member);
  w.Add("chain", std::to_string(c.chain_first) + " " + std::to_string(c.chain_length));
  w.AddU64("members", c.members.size());
  for (const CatalogMember& m : c.members) w.Add("member", MemberValue(m));
  return w;
}

}  // namespace

bool SafeMemberName(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." && name.find('/') == std::string::npos &&
         !HasControl(name) && name != kCatalogName;
}

CatalogMember DescribeMember(const std::string& name, uint64_t size, const Header& h, const Footer& f) {
  CatalogMember m;
  m.name = name;
  m.size = size;
  m.header_csum = h.header_csum;
  m.file_csum = f.file_csum;
  m.volume = h.volume_uuid;
  m.volume_size = h.volume_size;
  m.seed = h.seed();
  m.base = h.base;
  m.target = h.target;
  return m;
}

std::string MemberMismatch(const CatalogMember& want, const Header& h, const Footer* f) {
  if (h.header_csum != want.header_csum)
    return "header checksum " + Hex64(h.header_csum) + " differs from the catalog's " + Hex64(want.header_csum);
  if (h.volume_uuid != want.volume || h.volume_size != want.volume_size || h.base != want.base ||
      h.target != want.target || h.seed() != want.seed)
    return "identity differs from the catalog's";
  if (f != nullptr && f->file_csum != want.file_csum)
    return "file checksum " + Hex64(f->file_csum) + " differs from the catalog's " + Hex64(want.file_csum);
  return "";
}

Result<std::string> Catalog::Encode(const std::string& name) const { return Write(*this).Finish(name); }

size_t Catalog::EncodedSize() const { return Write(*this).size(); }

size_t Catalog::MemberLineSize(const CatalogMember& m) { return TextWriter::LineSize("member", MemberValue(m)); }

Result<Catalog> Catalog::Decode(const std::string& text, const std::string& name) {
  DDL_ASSIGN_OR_RETURN(TextRecord r, TextRecord::Parse(text, name, CatalogFormat()));
  Catalog c;
  std::vector<std::string_view> f;
  for (const std::string& val : r.All("member")) {
    if (!SplitFields(val, 11, &f)) return r.Error("short member line");
    CatalogMember m;
    m.name = std::string(f[10]);
    if (!ParseDecimalU64(f[0], &m.size) || m.size == 0)
      return r.Error("member size '" + std::string(f[0].substr(0, 40)) + "'");
    if (!ParseHex64(f[1], &m.header_csum) || !ParseHex64(f[2], &m.file_csum)) return r.Error("member checksum");
    if (!Uuid::Parse(std::string(f[3]), &m.volume) || !ParseDecimalU64(f[4], &m.volume_size))
      return r.Error("member volume");
    if (f[5] != "seed" && f[5] != "delta") return r.Error("member kind '" + std::string(f[5].substr(0, 40)) + "'");
    m.seed = f[5] == "seed";
    if (!ParseIdentity(f[6], f[7], &m.base) || !ParseIdentity(f[8], f[9], &m.target)) return r.Error("member identity");
    if (!SafeMemberName(m.name)) return r.Error("unsafe member name '" + m.name.substr(0, 40) + "'");
    c.members.push_back(std::move(m));
  }
  DDL_RETURN_IF_ERROR(r.GetString("tool", &c.tool));
  DDL_RETURN_IF_ERROR(r.GetU64("created_ns", &c.created_ns));
  DDL_RETURN_IF_ERROR(r.GetUuid("set", &c.set));
  std::string archive, chain;
  DDL_RETURN_IF_ERROR(r.GetString("archive", &archive));
  {
    uint64_t v = 0, w = 0;
    if (!SplitFields(archive, 3, &f) || f[1] != "of" || !ParseDecimalU64(f[0], &v) || !ParseDecimalU64(f[2], &w) ||
        v < 1 || v > w || w > kArchiveSetMax)
      return r.Error("archive number '" + archive.substr(0, 40) + "'");
    c.number = static_cast<uint32_t>(v);
    c.count = static_cast<uint32_t>(w);
  }
  DDL_RETURN_IF_ERROR(r.GetString("first_archive", &c.first_archive));
  DDL_RETURN_IF_ERROR(r.GetString("this_archive", &c.this_archive));
  DDL_RETURN_IF_ERROR(r.GetString("next_archive", &c.next_archive));
  DDL_RETURN_IF_ERROR(r.GetString("next_member", &c.next_member));
  if ((c.number < c.count) != !c.next_archive.empty()) return r.Error("next_archive");
  DDL_RETURN_IF_ERROR(r.GetString("chain", &chain));
  if (!SplitFields(chain, 2, &f) || !ParseDecimalU64(f[0], &c.chain_first) || !ParseDecimalU64(f[1], &c.chain_length) ||
      c.chain_first < 1 || c.chain_first - 1 + c.members.size() > c.chain_length)
    return r.Error("chain '" + chain.substr(0, 40) + "'");
  uint64_t n = 0;
  DDL_RETURN_IF_ERROR(r.GetU64("members", &n));
  if (n != c.members.size() || n == 0) return r.Error("member count");
  for (size_t i = 1; i < c.members.size(); i++) {
    const CatalogMember& p = c.members[i - 1];
    const CatalogMember& m = c.members[i];
    if (m.volume != p.volume || m.base != p.target)
      return r.Error(m.name + " does not follow " + p.name + " in the chain");
  }
  return c;
}

}  // namespace ddl
