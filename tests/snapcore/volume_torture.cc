// volume_torture.cc - a process to kill -9 (tests/cli/test-volume-kill.sh).
//
//   volume_torture create DIR SIZE
//   volume_torture write DIR SESSION   writes, flushes, snapshots until killed;
//                                      prints "F <seq>" after each flush
//                                      returned and "S <name>" after each
//                                      snapshot, flushed to stdout at once
//   volume_torture check DIR STATE LOG SESSION
//                                      after a kill: every chunk holds what the
//                                      last check saw (STATE) or a write of this
//                                      session no older than its last flushed
//                                      write; every printed snapshot exists and
//                                      every snapshot reads back with its
//                                      fingerprint; rewrites STATE
//   volume_torture revert DIR SNAP     reverts (finishing an interrupted one)
//   volume_torture check-revert DIR SNAP
//                                      the live volume equals the snapshot
//
// Every chunk written says who wrote it: (session, seq, chunk) and filler
// derived from them, so a torn or misplaced chunk is recognised.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "snapcore/snapshot_view.h"
#include "snapcore/volume.h"
#include "snapcore/volume_check.h"
#include "snapcore/volume_manifest.h"

using namespace ddl;

namespace {

constexpr uint64_t kChunk = 4096;
constexpr uint64_t kMagic = 0x5254524f54444444ull;

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The chunks write `seq` of `session` covers: 1..4 consecutive chunks.
std::vector<uint64_t> ChunksOf(uint64_t session, uint64_t seq, uint64_t chunks) {
  uint64_t r = Mix(session * 1000003 + seq);
  uint64_t n = 1 + r % 4, first = (r >> 8) % (chunks - n + 1);
  std::vector<uint64_t> out;
  for (uint64_t i = 0; i < n; i++) out.push_back(first + i);
  return out;
}

void Fill(uint64_t session, uint64_t seq, uint64_t chunk, uint8_t* p) {
  uint64_t h[4] = {kMagic, session, seq, chunk};
  std::memcpy(p, h, sizeof h);
  uint64_t x = Mix(session ^ Mix(seq ^ Mix(chunk)));
  for (size_t i = sizeof h; i < kChunk; i += 8) {
    x = Mix(x);
    std::memcpy(p + i, &x, 8);
  }
}

struct Stamp {
  uint64_t session = 0, seq = 0;  // 0/0: zeros
  bool operator==(const Stamp& o) const { return session == o.session && seq == o.seq; }
};

// Who wrote this chunk; false if it is neither zeros nor an intact chunk of ours.
bool Identify(const uint8_t* p, uint64_t chunk, Stamp* s) {
  if (IsAllZero(p, kChunk)) {
    *s = Stamp();
    return true;
  }
  uint64_t h[4];
  std::memcpy(h, p, sizeof h);
  if (h[0] != kMagic || h[3] != chunk) return false;
  std::vector<uint8_t> want(kChunk);
  Fill(h[1], h[2], chunk, want.data());
  if (std::memcmp(want.data(), p, kChunk) != 0) return false;
  s->session = h[1];
  s->seq = h[2];
  return true;
}

int Fail(const std::string& m) {
  std::fprintf(stderr, "volume_torture: %s\n", m.c_str());
  return 1;
}

Result<std::unique_ptr<vol::Volume>> OpenVol(const std::string& dir, bool allow_revert = false) {
  vol::OpenOptions o;
  o.allow_pending_revert = allow_revert;
  return vol::Volume::Open(Env::Posix(), dir, o);
}

int Write(const std::string& dir, uint64_t session) {
  auto r = OpenVol(dir);
  if (!r.ok()) return Fail(r.status().message());
  vol::Volume* v = r->get();
  uint64_t chunks = v->size() / kChunk;
  std::vector<uint8_t> buf(4 * kChunk);
  for (uint64_t seq = 1;; seq++) {
    std::vector<uint64_t> cs = ChunksOf(session, seq, chunks);
    for (size_t i = 0; i < cs.size(); i++) Fill(session, seq, cs[i], buf.data() + i * kChunk);
    Status s = v->Write(cs[0] * kChunk, buf.data(), cs.size() * kChunk);
    if (!s.ok()) return Fail(s.message());
    if (seq % 8 == 0) {
      if (!(s = v->Flush()).ok()) return Fail(s.message());
      std::printf("F %" PRIu64 "\n", seq);
      std::fflush(stdout);
    }
    if (seq % 400 == 0) {
      std::string name = "t" + std::to_string(session) + "-" + std::to_string(seq);
      auto snap = v->CreateSnapshot(name);
      if (!snap.ok()) return Fail(snap.status().message());
      std::printf("S %s\n", name.c_str());
      std::fflush(stdout);
    }
  }
}

Fingerprint ReadFingerprint(const std::function<Status(uint64_t, void*, size_t)>& read, uint64_t size, Status* st) {
  Fingerprint fp;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off = 0; off < size && st->ok(); off += buf.size()) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), size - off));
    *st = read(off, buf.data(), n);
    for (size_t p = 0; st->ok() && p < n; p += kChunk) fp.Add((off + p) / kChunk, HashChunk(buf.data() + p, kChunk));
  }
  return fp;
}

// The whole volume passes `volume check` (every snapshot's entries against
// its data and the previous snapshot, and its fingerprint), and the newest
// snapshot also reads back whole through a SnapshotView. Run on a closed
// volume.
int CheckSnapshots(const std::string& dir) {
  Env* env = Env::Posix();
  vol::CheckReport rep;
  Status s = vol::CheckVolume(env, dir, nullptr, &rep);
  for (const vol::CheckProblem& p : rep.problems) std::fprintf(stderr, "%s: %s\n", p.file.c_str(), p.message.c_str());
  if (!s.ok()) return Fail(s.message());
  auto m = vol::Manifest::Open(env, dir, false);
  if (!m.ok()) return Fail(m.status().message());
  const vol::VolumeState& st = (*m)->state();
  if (st.snaps.empty()) return 0;
  auto view = vol::SnapshotView::Open(env, dir, st, int(st.snaps.size()) - 1);
  if (!view.ok()) return Fail(view.status().message());
  Fingerprint fp = ReadFingerprint([&](uint64_t o, void* b, size_t n) { return (*view)->Read(o, b, n); }, st.size, &s);
  if (!s.ok()) return Fail(s.message());
  if (fp != st.snaps.back().fingerprint) return Fail("snapshot " + st.snaps.back().name + " reads back wrong");
  return 0;
}

int Check(const std::string& dir, const std::string& state_path, const std::string& log, uint64_t session) {
  auto r = OpenVol(dir);
  if (!r.ok()) return Fail(r.status().message());
  vol::Volume* v = r->get();
  uint64_t chunks = v->size() / kChunk;
  std::vector<Stamp> before(chunks);
  {
    std::ifstream in(state_path);
    uint64_t c, a, b;
    while (in >> c >> a >> b)
      if (c < chunks) before[c] = Stamp{a, b};
  }
  uint64_t flushed = 0;
  std::set<std::string> printed;
  {
    std::ifstream in(log);
    std::string kind, val;
    while (in >> kind >> val) {
      if (kind == "F") flushed = std::stoull(val);
      if (kind == "S") printed.insert(val);
    }
  }
  // The newest flushed write of this session to each chunk.
  std::vector<uint64_t> min_seq(chunks, 0);
  for (uint64_t seq = 1; seq <= flushed; seq++)
    for (uint64_t c : ChunksOf(session, seq, chunks)) min_seq[c] = seq;
  std::vector<uint8_t> buf(kChunk);
  std::vector<Stamp> now(chunks);
  uint64_t unflushed_seen = 0;
  for (uint64_t c = 0; c < chunks; c++) {
    Status s = v->Read(c * kChunk, buf.data(), kChunk);
    if (!s.ok()) return Fail(s.message());
    Stamp got;
    if (!Identify(buf.data(), c, &got)) return Fail("chunk " + std::to_string(c) + " is torn or misplaced");
    bool ok;
    if (got.session == session) {
      bool wrote = false;  // did write got.seq of this session cover c?
      for (uint64_t x : ChunksOf(session, got.seq, chunks)) wrote |= (x == c);
      ok = wrote && got.seq >= min_seq[c];
      if (ok && got.seq > flushed) unflushed_seen++;
    } else {
      ok = min_seq[c] == 0 && got == before[c];
    }
    if (!ok)
      return Fail("chunk " + std::to_string(c) + " holds session " + std::to_string(got.session) + " write " +
                  std::to_string(got.seq) + "; flushed up to write " + std::to_string(flushed) +
                  ", newest flushed write to it " + std::to_string(min_seq[c]));
    now[c] = got;
  }
  const vol::VolumeState& st = v->state();
  for (const std::string& n : printed)
    if (st.Find(n) < 0) return Fail("snapshot " + n + " was reported created but is missing");
  size_t snaps = st.snaps.size();
  Status s = v->Close();
  if (!s.ok()) return Fail(s.message());
  if (int rc = CheckSnapshots(dir)) return rc;
  std::ofstream out(state_path);
  for (uint64_t c = 0; c < chunks; c++) out << c << " " << now[c].session << " " << now[c].seq << "\n";
  std::printf("ok: flushed to write %" PRIu64 ", %zu snapshots, %" PRIu64 " chunks hold unflushed writes\n", flushed,
              snaps, unflushed_seen);
  return 0;
}

int Revert(const std::string& dir, const std::string& snap) {
  auto r = OpenVol(dir, true);
  if (!r.ok()) return Fail(r.status().message());
  bool pending = (*r)->state().revert_target != 0;
  std::printf("begin\n");  // the kill test aims its kill after this line
  std::fflush(stdout);
  Status s = (*r)->Revert(snap, nullptr);
  if (!s.ok()) return Fail(s.message());
  s = (*r)->Close();
  if (!s.ok()) return Fail(s.message());
  std::printf("reverted%s\n", pending ? " (finished an interrupted revert)" : "");
  return 0;
}

int CheckRevert(const std::string& dir, const std::string& snap) {
  auto r = OpenVol(dir);
  if (!r.ok()) return Fail(r.status().message());
  const vol::VolumeState& st = (*r)->state();
  int i = st.Find(snap);
  if (i < 0) return Fail("no snapshot " + snap);
  Status s;
  Fingerprint fp = ReadFingerprint([&](uint64_t o, void* b, size_t n) { return (*r)->Read(o, b, n); }, st.size, &s);
  if (!s.ok()) return Fail(s.message());
  if (fp != st.snaps[i].fingerprint) return Fail("live volume differs from snapshot " + snap + " after revert");
  if (!(s = (*r)->Close()).ok()) return Fail(s.message());
  return CheckSnapshots(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 3 && a[0] == "create") {
    vol::CreateOptions o;
    o.size = std::stoull(a[2]);
    Status s = vol::Volume::Create(Env::Posix(), a[1], o);
    return s.ok() ? 0 : Fail(s.message());
  }
  if (a.size() == 3 && a[0] == "write") return Write(a[1], std::stoull(a[2]));
  if (a.size() == 5 && a[0] == "check") return Check(a[1], a[2], a[3], std::stoull(a[4]));
  if (a.size() == 3 && a[0] == "revert") return Revert(a[1], a[2]);
  if (a.size() == 3 && a[0] == "check-revert") return CheckRevert(a[1], a[2]);
  return Fail("usage: see the comment at the top of tests/snapcore/volume_torture.cc");
}
