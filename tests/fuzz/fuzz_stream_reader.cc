// fuzz_stream_reader - any input through the pipe reader: never crashes,
// never returns unverified data. Each input runs as given and again with
// its checksums rewritten (fix_checksums.h), so mutations reach the rules
// behind the checksums.
#include <cstddef>
#include <cstdint>

#include "deltafile/io_memory.h"
#include "deltafile/reader.h"
#include "tests/fuzz/fix_checksums.h"

namespace {

void Run(const std::vector<uint8_t>& bytes) {
  ddl::MemEnv env;
  env.Put("in", bytes);
  auto f = env.Open("in", ddl::OpenMode::kRead);
  ddl::FileStream in(f->get());
  ddl::StreamReader sr(&in);
  ddl::Status s = sr.ReadHeader();
  ddl::Record r;
  for (bool more = true; s.ok() && more;) {
    s = sr.Next(&r, &more);
    if (s.ok() && more && r.h.type == DDL_REC_DATA && r.data.size() != r.h.length) __builtin_trap();
    if (s.ok() && more && r.h.length > sr.header().volume_size) __builtin_trap();
  }
  if (s.ok()) (void)sr.Finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  Run(bytes);
  if (ddl::fuzz::FixChecksums(&bytes)) Run(bytes);
  return 0;
}
