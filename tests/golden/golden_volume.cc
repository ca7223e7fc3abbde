// golden_volume.cc - the operations that make the golden volume.
#include "tests/golden/golden_volume.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "deltafile/hash.h"
#include "snapcore/volume.h"
#include "tests/test_util.h"

namespace ddl::test {

namespace {

constexpr uint64_t kSize = 256 * 1024;
constexpr uint32_t kShift = 12;

// UUIDs and times that depend only on how many were drawn.
vol::Entropy Deterministic() {
  auto n_uuid = std::make_shared<uint64_t>(0);
  auto n_time = std::make_shared<uint64_t>(0);
  vol::Entropy e;
  e.new_uuid = [n_uuid] {
    Uuid u;
    uint64_t k = ++*n_uuid;
    uint64_t a = Xxh64(&k, sizeof k), b = a ^ (0x9e3779b97f4a7c15ull * k);
    for (int i = 0; i < 8; i++) u.b[i] = uint8_t(a >> (8 * i)), u.b[8 + i] = uint8_t(b >> (8 * i));
    u.b[6] = uint8_t((u.b[6] & 0x0f) | 0x40);  // version 4
    u.b[8] = uint8_t((u.b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return u;
  };
  e.now_ns = [n_time] { return 1767225600ull * 1000000000ull + (++*n_time) * 3600ull * 1000000000ull; };
  return e;
}

class Builder {
 public:
  Builder(Env* env, std::string dir) : env_(env), dir_(std::move(dir)), model_(kSize, 0) {}

  Status Run(std::vector<GoldenContent>* expected) {
    vol::CreateOptions c;
    c.size = kSize;
    c.chunk_shift = kShift;
    c.entropy = Deterministic();
    DDL_RETURN_IF_ERROR(vol::Volume::Create(env_, dir_, c));
    vol::OpenOptions o;
    o.entropy = c.entropy;  // shares the counters: the next UUID is the third
    DDL_ASSIGN_OR_RETURN(v_, vol::Volume::Open(env_, dir_, o));

    DDL_RETURN_IF_ERROR(Write(0, RandomBytes(16384, 1)));   // chunks 0-3
    DDL_RETURN_IF_ERROR(Write(20000, TextBytes(3000, 2)));  // inside chunks 4-5
    DDL_RETURN_IF_ERROR(Snap("sun"));
    DDL_RETURN_IF_ERROR(Write(8192, RandomBytes(8192, 3)));  // chunks 2-3
    DDL_RETURN_IF_ERROR(Write(40 << kShift, TextBytes(8192, 4)));
    DDL_RETURN_IF_ERROR(Snap("mon"));
    DDL_RETURN_IF_ERROR(Write(12288, RandomBytes(12288, 5)));  // chunks 3-5
    DDL_RETURN_IF_ERROR(Write(60 << kShift, RandomBytes(4096, 6)));
    DDL_RETURN_IF_ERROR(Write(40 << kShift, Bytes(4096, 0)));  // back to zeros
    DDL_RETURN_IF_ERROR(Snap("tue"));
    DDL_RETURN_IF_ERROR(Write(10 << kShift, TextBytes(4096, 7)));
    DDL_RETURN_IF_ERROR(Write(4 << kShift, RandomBytes(1000, 8)));  // part of chunk 4
    DDL_RETURN_IF_ERROR(Snap("wed"));
    DDL_RETURN_IF_ERROR(Write(50 << kShift, RandomBytes(8192, 9)));
    DDL_RETURN_IF_ERROR(Write(60 << kShift, TextBytes(4096, 10)));
    DDL_RETURN_IF_ERROR(Snap("thu"));
    DDL_RETURN_IF_ERROR(v_->DeleteSnapshot("tue"));  // a middle one: merged into wed
    DDL_RETURN_IF_ERROR(v_->DeleteSnapshot("sun"));  // the oldest: folded into base
    snaps_.erase("tue");
    snaps_.erase("sun");
    DDL_RETURN_IF_ERROR(Write(30 << kShift, RandomBytes(4096, 11)));  // lost by the revert
    DDL_RETURN_IF_ERROR(v_->Revert("mon", nullptr));
    model_ = snaps_["mon"];
    DDL_RETURN_IF_ERROR(Write(63 << kShift, RandomBytes(4096, 12)));  // the last chunk
    DDL_RETURN_IF_ERROR(Snap("fri"));
    DDL_RETURN_IF_ERROR(Write(1 << kShift, TextBytes(6000, 13)));  // chunk 1 and part of 2
    DDL_RETURN_IF_ERROR(Write(45 << kShift, RandomBytes(4096, 14)));
    DDL_RETURN_IF_ERROR(v_->Flush());
    DDL_RETURN_IF_ERROR(Check());
    DDL_RETURN_IF_ERROR(v_->Close());
    v_.reset();

    expected->clear();
    for (const char* name : {"mon", "wed", "thu", "fri"})
      expected->push_back(GoldenContent{"snapshot", name, Xxh64(snaps_[name].data(), kSize)});
    expected->push_back(GoldenContent{"head", "-", Xxh64(model_.data(), kSize)});
    return Status::Ok();
  }

 private:
  Status Write(uint64_t off, const Bytes& b) {
    Put(&model_, off, b);
    return v_->Write(off, b.data(), b.size());
  }
  Status Snap(const std::string& name) {
    DDL_RETURN_IF_ERROR(v_->CreateSnapshot(name).status());
    snaps_[name] = model_;
    return Status::Ok();
  }
  // The live volume reads as the model (a builder that is wrong fails here,
  // before it writes an EXPECTED file).
  Status Check() {
    Bytes b(kSize);
    DDL_RETURN_IF_ERROR(v_->Read(0, b.data(), b.size()));
    if (b != model_) return Corruption(dir_ + ": the live volume does not read as the model");
    return Status::Ok();
  }

  Env* env_;
  std::string dir_;
  Bytes model_;
  std::map<std::string, Bytes> snaps_;
  std::unique_ptr<vol::Volume> v_;
};

}  // namespace

Status BuildGoldenVolume(Env* env, const std::string& dir, std::vector<GoldenContent>* expected) {
  return Builder(env, dir).Run(expected);
}

std::string FormatGoldenExpected(const std::vector<GoldenContent>& c) {
  std::string out =
      "# The golden volume's content: every snapshot (oldest first), then the live head.\n"
      "# kind<TAB>name<TAB>XXH64 (seed 0) of the whole content, 16 hex digits. Written by make-golden-volume.\n";
  for (const GoldenContent& g : c) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(g.xxh64));
    out += g.kind + "\t" + g.name + "\t" + hex + "\n";
  }
  return out;
}

bool ParseGoldenExpected(const std::string& text, std::vector<GoldenContent>* out) {
  std::istringstream in(text);
  std::string line;
  out->clear();
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('\t'), b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos || line.size() - b - 1 != 16) return false;
    GoldenContent g;
    g.kind = line.substr(0, a);
    g.name = line.substr(a + 1, b - a - 1);
    char* end = nullptr;
    g.xxh64 = std::strtoull(line.c_str() + b + 1, &end, 16);
    if (*end != '\0' || (g.kind != "snapshot" && g.kind != "head")) return false;
    out->push_back(g);
  }
  return !out->empty();
}

}  // namespace ddl::test
