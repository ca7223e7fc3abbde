// fuzz_chain_reader - any input as a one-delta chain (over an all-zero base
// of its volume size when it is not a seed), read at the start of every
// record and at offsets taken from the input; as given and with its
// checksums rewritten (fix_checksums.h). Never crashes; a read that
// succeeds of a seed chain over a ZERO record returns zeros.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "deltafile/chain.h"
#include "deltafile/io_memory.h"
#include "tests/fuzz/fix_checksums.h"

namespace {

void Run(const std::vector<uint8_t>& bytes) {
  ddl::MemEnv env;
  env.Put("d", bytes);
  auto f = env.Open("d", ddl::OpenMode::kRead);
  auto rr = ddl::RandomReader::Open(f->get());
  if (!rr.ok()) return;
  const ddl::Header& h = (*rr)->header();
  std::unique_ptr<ddl::File> base;
  if (!h.seed()) {
    if (h.volume_size > (2u << 20)) return;
    env.Put("base", std::vector<uint8_t>(h.volume_size));
    base = std::move(env.Open("base", ddl::OpenMode::kRead).value());
  }
  ddl::ChainOptions o;
  o.cache_bytes = 1 << 20;
  auto c = ddl::ChainReader::Open(base.get(), {f->get()}, o);
  if (!c.ok()) return;
  std::vector<uint8_t> buf(8192);
  std::vector<uint64_t> offsets;
  for (const ddl::IndexEntry& e : (*rr)->entries()) offsets.push_back(e.offset);
  for (size_t i = 0; i + 8 <= bytes.size() && i < 64 * 8; i += 512) offsets.push_back(ddl::LoadLE64(&bytes[i]));
  for (uint64_t off : offsets) {
    off %= (*c)->size() + 1;
    if (!(*c)->Read(off, buf.data(), buf.size()).ok()) continue;
    const size_t k = (*rr)->Find(off);
    if (k < (*rr)->entries().size()) {
      const ddl::IndexEntry& e = (*rr)->entries()[k];
      if (e.type == DDL_REC_ZERO && e.offset <= off && off < e.offset + e.length && buf[0] != 0) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Run(bytes);
  if (ddl::fuzz::FixChecksums(&bytes)) Run(bytes);
  return 0;
}
