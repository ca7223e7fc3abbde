// archive_catalog.cc - encoding, decoding and checking of archive catalogs.
#include "backup/archive_catalog.h"

#include <map>
#include <sstream>

#include "backup/text_fields.h"

namespace ddl {

namespace {

constexpr const char* kMagic = "ddloop-archive-catalog 1";

bool HasControl(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

bool ParseIdentity(const std::string& snap, const std::string& fp, Identity* id) {
  return Uuid::Parse(snap, &id->snapshot) && ParseFingerprint(fp, &id->fingerprint);
}

std::string MemberLine(const CatalogMember& m) {
  std::ostringstream o;
  o << "member " << m.size << " " << Hex64(m.header_csum) << " " << Hex64(m.file_csum) << " "
    << m.volume.ToString() << " " << m.volume_size << " " << (m.seed ? "seed" : "delta") << " "
    << m.base.snapshot.ToString() << " " << m.base.fingerprint.Hex() << " " << m.target.snapshot.ToString() << " "
    << m.target.fingerprint.Hex() << " " << m.name << "\n";
  return o.str();
}

}  // namespace

bool SafeMemberName(const std::string& name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string::npos && !HasControl(name) && name != kCatalogName;
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

std::string Catalog::Encode() const {
  std::ostringstream o;
  o << kMagic << "\n";
  o << "tool " << tool << "\n";
  o << "created_ns " << created_ns << "\n";
  o << "set " << set.ToString() << "\n";
  o << "archive " << number << " of " << count << "\n";
  o << "first_archive " << first_archive << "\n";
  o << "this_archive " << this_archive << "\n";
  o << "next_archive " << next_archive << "\n";
  o << "next_member " << next_member << "\n";
  o << "chain " << chain_first << " " << chain_length << "\n";
  o << "members " << members.size() << "\n";
  for (const CatalogMember& m : members) o << MemberLine(m);
  return WithChecksumLine(o.str());
}

size_t Catalog::MemberLineSize(const CatalogMember& m) { return MemberLine(m).size(); }

Result<Catalog> Catalog::Decode(const std::string& text, const std::string& name) {
  auto bad = [&](const std::string& what) { return Corruption(name + ": damaged archive catalog: " + what); };
  std::string body;
  if (const char* why = CheckChecksumLine(text, &body)) return bad(why);
  std::istringstream in(body);
  std::string line;
  if (!std::getline(in, line) || line != kMagic) return bad("unknown format '" + line.substr(0, 40) + "'");
  std::map<std::string, std::string> kv;
  Catalog c;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp);
    std::string val = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key != "member") {
      kv[key] = val;
      continue;
    }
    std::istringstream f(val);
    std::string size, hc, fc, vol, vsize, kind, bs, bf, ts, tf;
    if (!(f >> size >> hc >> fc >> vol >> vsize >> kind >> bs >> bf >> ts >> tf)) return bad("short member line");
    CatalogMember m;
    f.get();  // the space before the name
    std::getline(f, m.name);
    if (!ParseU64(size, &m.size) || m.size == 0) return bad("member size '" + size + "'");
    if (!ParseHex64(hc, &m.header_csum) || !ParseHex64(fc, &m.file_csum)) return bad("member checksum");
    if (!Uuid::Parse(vol, &m.volume) || !ParseU64(vsize, &m.volume_size)) return bad("member volume");
    if (kind != "seed" && kind != "delta") return bad("member kind '" + kind + "'");
    m.seed = kind == "seed";
    if (!ParseIdentity(bs, bf, &m.base) || !ParseIdentity(ts, tf, &m.target)) return bad("member identity");
    if (!SafeMemberName(m.name)) return bad("unsafe member name '" + m.name + "'");
    c.members.push_back(std::move(m));
  }
  uint64_t v = 0, w = 0;
  c.tool = kv["tool"];
  if (!ParseU64(kv["created_ns"], &c.created_ns)) return bad("created_ns");
  if (!Uuid::Parse(kv["set"], &c.set)) return bad("set");
  {
    std::istringstream a(kv["archive"]);
    std::string n, of, m;
    if (!(a >> n >> of >> m) || of != "of" || !ParseU64(n, &v) || !ParseU64(m, &w) || v < 1 || v > w ||
        w > kArchiveSetMax)
      return bad("archive number '" + kv["archive"] + "'");
    c.number = static_cast<uint32_t>(v);
    c.count = static_cast<uint32_t>(w);
  }
  c.first_archive = kv["first_archive"];
  c.this_archive = kv["this_archive"];
  c.next_archive = kv["next_archive"];
  c.next_member = kv["next_member"];
  if ((c.number < c.count) != !c.next_archive.empty()) return bad("next_archive");
  {
    std::istringstream a(kv["chain"]);
    std::string f, l;
    if (!(a >> f >> l) || !ParseU64(f, &c.chain_first) || !ParseU64(l, &c.chain_length) || c.chain_first < 1 ||
        c.chain_first - 1 + c.members.size() > c.chain_length)
      return bad("chain '" + kv["chain"] + "'");
  }
  if (!ParseU64(kv["members"], &v) || v != c.members.size() || v == 0) return bad("member count");
  for (size_t i = 1; i < c.members.size(); i++) {
    const CatalogMember& p = c.members[i - 1];
    const CatalogMember& m = c.members[i];
    if (m.volume != p.volume || m.base != p.target)
      return bad(m.name + " does not follow " + p.name + " in the chain");
  }
  return c;
}

}  // namespace ddl
