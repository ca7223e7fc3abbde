// fuzz_random_reader - any input through the index reader and the verifier.
#include <cstddef>
#include <cstdint>

#include "deltafile/io_memory.h"
#include "deltafile/reader.h"
#include "deltafile/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ddl::MemEnv env;
  env.Put("in", std::vector<uint8_t>(data, data + size));
  auto f = env.Open("in", ddl::OpenMode::kRead);
  auto rr = ddl::RandomReader::Open(f->get());
  if (rr.ok()) {
    ddl::Decompressor dz;
    ddl::Record r;
    for (size_t i = 0; i < (*rr)->entries().size() && i < 64; i++) (void)(*rr)->ReadRecord(i, &r, &dz);
    (void)(*rr)->Find(size);
    ddl::VerifyOptions o;
    o.threads = 0;
    ddl::VerifyReport rep;
    (void)ddl::VerifyDelta(f->get(), o, &rep);
  }
  return 0;
}
