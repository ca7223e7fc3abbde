// fuzz_stream_reader - any input through the pipe reader: never crashes,
// never returns unverified data.
#include <cstddef>
#include <cstdint>

#include "deltafile/io_memory.h"
#include "deltafile/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ddl::MemEnv env;
  env.Put("in", std::vector<uint8_t>(data, data + size));
  auto f = env.Open("in", ddl::OpenMode::kRead);
  ddl::FileStream in(f->get());
  ddl::StreamReader sr(&in);
  ddl::Status s = sr.ReadHeader();
  ddl::Record r;
  for (bool more = true; s.ok() && more;) {
    s = sr.Next(&r, &more);
    if (s.ok() && more && r.h.type == DDL_REC_DATA && r.data.size() != r.h.length) __builtin_trap();
  }
  if (s.ok()) (void)sr.Finish();
  return 0;
}
