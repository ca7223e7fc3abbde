// fuzz_random_reader - any input through the index reader and the verifier,
// as given and with its checksums rewritten (fix_checksums.h). Never
// crashes; what Open accepts has index entries within the file and volume.
#include <cstddef>
#include <cstdint>

#include "deltafile/io_memory.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"
#include "tests/fuzz/fix_checksums.h"

namespace {

void Run(const std::vector<uint8_t>& bytes) {
  ddl::MemEnv env;
  env.Put("in", bytes);
  auto f = env.Open("in", ddl::OpenMode::kRead);
  auto rr = ddl::RandomReader::Open(f->get());
  if (!rr.ok()) return;
  const auto& entries = (*rr)->entries();
  for (const ddl::IndexEntry& e : entries)
    if (e.file_offset + e.record_size > bytes.size() || e.record_size > (2u << 20)) __builtin_trap();
  ddl::Decompressor dz;
  ddl::Record r;
  for (size_t i = 0; i < entries.size() && i < 64; i++) {
    if ((*rr)->ReadRecord(i, &r, &dz).ok() && r.h.type == DDL_REC_DATA && r.data.size() != r.h.length) __builtin_trap();
    std::vector<ddl::ChunkHash> old;
    (void)(*rr)->ReadRecordHashes(i, &old);
  }
  (void)(*rr)->Find(bytes.size());
  (void)(*rr)->CheckFileChecksum();
  ddl::VerifyOptions o;
  o.threads = 0;
  ddl::VerifyReport rep;
  (void)ddl::VerifyDelta(f->get(), o, &rep);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Run(bytes);
  if (ddl::fuzz::FixChecksums(&bytes)) Run(bytes);
  return 0;
}
