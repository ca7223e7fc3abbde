// test_util.cc - helpers shared by the unit tests.
#include "tests/test_util.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "deltafile/reader.h"
#include "deltafile/verify.h"
#include "snapcore/image_diff.h"

namespace ddl::test {

namespace {
uint64_t SplitMix(uint64_t* s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

Bytes RandomBytes(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t s = seed;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = SplitMix(&s);
    for (size_t k = 0; k < 8 && i + k < n; k++) b[i + k] = uint8_t(v >> (8 * k));
  }
  return b;
}

Bytes TextBytes(size_t n, uint64_t seed) {
  static const char* words[] = {"block ", "delta ", "snapshot ", "volume ", "chunk ", "replica ", "zstd ", "\n"};
  Bytes b;
  b.reserve(n);
  uint64_t s = seed;
  while (b.size() < n) {
    const char* w = words[SplitMix(&s) % 8];
    for (const char* p = w; *p && b.size() < n; p++) b.push_back(uint8_t(*p));
  }
  return b;
}

void Put(Bytes* dst, size_t off, const Bytes& src) { std::copy(src.begin(), src.end(), dst->begin() + off); }

Bytes MakeDelta(const Bytes* old_img, const Bytes& new_img, WriterOptions w) {
  MemEnv env;
  if (old_img) env.Put("old", *old_img);
  env.Put("new", new_img);
  auto nf = env.Open("new", OpenMode::kRead);
  auto out = env.Open("out", OpenMode::kCreate);
  std::unique_ptr<File> of;
  if (old_img) of = std::move(env.Open("old", OpenMode::kRead).value());
  ImageDiffOptions o;
  if (w.create_time_ns == 0) w.create_time_ns = 1700000000ull * 1000000000ull;
  o.writer = w;
  ImageDiffResult r;
  Status s = CreateDeltaFromImages(of.get(), nf->get(), out->get(), o, &r);
  if (!s.ok()) throw std::runtime_error("MakeDelta: " + s.message());
  return env.Get("out");
}

Status VerifyBytes(const Bytes& delta, const Bytes* base, const std::string& name) {
  MemEnv env;
  env.Put(name, delta);
  if (base) env.Put("base", *base);
  auto f = env.Open(name, OpenMode::kRead);
  std::unique_ptr<File> bf;
  if (base) bf = std::move(env.Open("base", OpenMode::kRead).value());
  VerifyOptions o;
  o.base = bf.get();
  o.threads = 0;
  VerifyReport r;
  return VerifyDelta(f->get(), o, &r);
}

Status StreamReadAll(const Bytes& delta) {
  MemEnv env;
  env.Put("d", delta);
  auto f = env.Open("d", OpenMode::kRead);
  FileStream in(f->get());
  StreamReader sr(&in);
  Status s = sr.ReadHeader();
  Record r;
  for (bool more = true; s.ok() && more;) s = sr.Next(&r, &more);
  return s.ok() ? sr.Finish() : s;
}

Bytes ReadFileBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot read " + path);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string SourceDir() { return DDLOOP_TEST_SOURCE_DIR; }

}  // namespace ddl::test
