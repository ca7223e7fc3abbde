// status.h - errors as values. No exceptions cross the library boundary.
//
// A Status is Ok or a (Code, message) pair. The message names the file and
// what is wrong, in one line; the ddloop command prints it as is and maps
// the Code to an exit code (ddloop/exit_codes.h). Result<T> holds a value
// or a non-Ok Status. Both are cheap to move and are not thread-safe.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace ddl {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something impossible
  kIOError,          // the OS refused a read/write/open
  kNotFound,         // a named file does not exist
  kCorruption,       // a checksum or structural check failed
  kTruncated,        // input ended early
  kUnsupported,      // a newer format version or unknown incompatible feature
  kWrongBase,        // the image is not the delta's base
  kBrokenChain,      // deltas do not chain (base of N != target of N-1)
  kMismatch,         // content differs from what was recorded (verify)
  kInterrupted,      // stopped by a signal
  kRemote,           // a network transfer or a remote server failed
  kExists,           // a file that must be new already exists
  kBusy,             // another process holds the lock on it
  kForeign,          // belongs to another volume lineage (a foreign repository, a replica of another volume)
  kNeedsReseed,      // nothing the replica holds is a base upstream: it must be seeded again
};
// The last code. Codes are sent as numbers between processes (the volume
// server's control replies), so new codes go at the end.
inline constexpr Code kLastCode = Code::kNeedsReseed;

class Status {
 public:
  Status() = default;
  Status(Code code, std::string msg) : code_(code), msg_(std::move(msg)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  // Prefix the message with context, e.g. a file name: "f.delta: " + msg.
  Status Prefix(const std::string& what) const {
    if (ok()) return *this;
    return Status(code_, what + ": " + msg_);
  }

 private:
  Code code_ = Code::kOk;
  std::string msg_;
};

inline Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
inline Status IOError(std::string m) { return Status(Code::kIOError, std::move(m)); }
inline Status Corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
inline Status Truncated(std::string m) { return Status(Code::kTruncated, std::move(m)); }
inline Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
inline Status RemoteError(std::string m) { return Status(Code::kRemote, std::move(m)); }

const char* CodeName(Code c);

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ddl

#define DDL_RETURN_IF_ERROR(expr) \
  do {                            \
    ::ddl::Status _s = (expr);    \
    if (!_s.ok()) return _s;      \
  } while (0)

#define DDL_CONCAT_INNER(a, b) a##b
#define DDL_CONCAT(a, b) DDL_CONCAT_INNER(a, b)
#define DDL_ASSIGN_OR_RETURN(lhs, expr) DDL_ASSIGN_OR_RETURN_IMPL(DDL_CONCAT(_res_, __LINE__), lhs, expr)
#define DDL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp.value())
