// test_util.h - deterministic data and in-memory deltas for the tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deltafile/io_memory.h"
#include "deltafile/writer.h"

namespace ddl::test {

using Bytes = std::vector<uint8_t>;

// Incompressible bytes from a seeded generator.
Bytes RandomBytes(size_t n, uint64_t seed);
// Compressible text-like bytes.
Bytes TextBytes(size_t n, uint64_t seed);
// Overwrites [off, off+src.size()) of dst.
void Put(Bytes* dst, size_t off, const Bytes& src);

// Diffs old (null: seed) against new through the library, returns the
// deltafile bytes. create_time is fixed so output is deterministic.
Bytes MakeDelta(const Bytes* old_img, const Bytes& new_img, WriterOptions w = WriterOptions());

// Verifies deltafile bytes (deltafile/verify.h), optionally against a base.
Status VerifyBytes(const Bytes& delta, const Bytes* base = nullptr, const std::string& name = "d");
// Reads deltafile bytes front to back with the pipe reader.
Status StreamReadAll(const Bytes& delta);

// Reads a file from disk / writes one.
Bytes ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const Bytes& b);

// Source directory of the tests (set by CMake).
std::string SourceDir();

}  // namespace ddl::test
