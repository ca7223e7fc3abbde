// hex.h - the one place hexadecimal text is made and read: checksums in
// ddloop's text files and messages, hashes, fingerprints, UUIDs, random
// names. Lowercase on output; parsers accept exactly the digits asked for
// (no sign, no "0x", no spaces) and never throw. Pure functions,
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ddl {

// Exactly 16 lowercase digits: Hex64(0x2a) == "000000000000002a".
std::string Hex64(uint64_t v);
// "0x" and the fewest lowercase digits, for flags and bits in messages:
// Hex0x(0x2a) == "0x2a", Hex0x(0) == "0x0".
std::string Hex0x(uint64_t v);
// Two lowercase digits per byte, in order.
std::string HexBytes(const void* p, size_t n);

// Exactly what Hex64 writes (16 lowercase digits) to *v; false on anything
// else, 17 digits or uppercase included. *v is set only on success.
bool ParseHex64(std::string_view s, uint64_t* v);
// Exactly 2*n hex digits, either case (UUIDs people type), to out[0..n);
// false on anything else. out is written only on success.
bool ParseHexBytes(std::string_view s, uint8_t* out, size_t n);

}  // namespace ddl
