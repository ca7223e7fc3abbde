// apply.h - replay deltafiles onto an image (a file or a block device).
//
// Safety, in order:
//  1. Every delta is checked before anything is written. Chain mode (files):
//     fully verified (deltafile/verify.h: every record, the index, the file
//     checksum, the fingerprint arithmetic), and the deltas must chain
//     (delta N's base is delta N-1's target; one volume, size, chunk size).
//     Stream mode (a pipe): the header; each record is verified before it is
//     written, and the rest before the target is recorded.
//  2. The image must be the first delta's base: by its full fingerprint, or
//     by its recorded apply state (apply_state.h) while the image is
//     untouched since, plus the base hashes of every chunk the first delta
//     changes. A wrong base is refused with the image untouched.
//  3. Before writing, the state file says "applying"; records are written
//     in order, and every checkpoint syncs the image then records how many
//     records are durable. Killed at any point, the same command resumes
//     from the last checkpoint (records are absolute, replay is idempotent).
//  4. Only after the whole delta was read and verified (record checksums,
//     file checksum, the records turning the base fingerprint into the
//     target's) and the image synced does the state say "at target".
//  5. One apply per image at a time, and none onto a base that a mount or
//     attach serves: the image is locked exclusively (deltafile/file_lock.h)
//     from before its state is read to the end; a held lock is Code::kBusy
//     with nothing written. (Env::Posix() only: other Envs are in-process.)
// Deltas already applied (the image is at a later delta's target) are
// skipped, so re-running a chain after a crash finishes it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "deltafile/format.h"
#include "deltafile/io.h"

namespace ddl {

enum class BaseCheck {
  kAuto,   // trust the recorded state while the image is untouched, else full
  kFull,   // always read the whole image
  kQuick,  // trust the recorded state even where untouched-ness is unknowable
           // (block devices); the changed chunks' base hashes are still checked
};

struct ApplyOptions {
  Env* env = nullptr;      // default: Env::Posix()
  std::string state_path;  // default: DefaultStatePath(image)
  BaseCheck check = BaseCheck::kAuto;
  int threads = 2;
  uint64_t checkpoint_bytes = 64ull << 20;
  // Progress of the delta being applied: its name, bytes read, its size (0
  // when unknown: a pipe).
  std::function<void(const std::string& name, uint64_t done, uint64_t total)> progress;
  // Informational lines: skipped deltas, resumption, how the base was checked.
  std::function<void(const std::string& line)> note;
  // Tests only: runs after the image is opened and before it is locked (to
  // swap the path in that window).
  std::function<void()> after_open_for_test;
};

struct ApplyReport {
  Identity result;       // what the image holds now
  int applied = 0;       // deltas written
  int skipped = 0;       // deltas the image already had
  bool resumed = false;  // an interrupted apply was finished
  uint64_t bytes_written = 0;
  std::string base_check;  // how the base was established
  // The deltafiles in chain order (the order applied); the first `start`
  // were already there (skipped, or finished before an interrupted apply).
  std::vector<std::string> order;
  size_t start = 0;
};

// Applies the deltafiles at `deltas`, given in any order, to `image`, in
// chain order.
Status ApplyChain(const std::vector<std::string>& deltas, const std::string& image, const ApplyOptions& o,
                  ApplyReport* report);

// Applies one deltafile read front to back from `in` (a pipe).
Status ApplyStream(Stream* in, const std::string& image, const ApplyOptions& o, ApplyReport* report);

}  // namespace ddl
