// replace_file.cc - replace_file.h.
#include "deltafile/replace_file.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace ddl {

namespace {

// Temporary files to unlink if a signal stops the process. A slot is
// claimed (busy), filled, then published (armed); the handler only reads
// armed slots, with async-signal-safe calls.
constexpr int kSlots = 16;
struct Slot {
  std::atomic<bool> busy{false};
  std::atomic<bool> armed{false};
  char path[4096];
};
Slot g_slots[kSlots];

void OnSignal(int sig) {
  for (Slot& s : g_slots)
    if (s.armed.load()) ::unlink(s.path);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void InstallHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction sa;
      std::memset(&sa, 0, sizeof sa);
      sa.sa_handler = OnSignal;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

// Covers one temporary file for as long as it lives.
class SignalGuard {
 public:
  SignalGuard(bool on, const std::string& path) {
    if (!on || path.size() >= sizeof g_slots[0].path) return;
    InstallHandlers();
    for (Slot& s : g_slots) {
      bool expected = false;
      if (s.busy.compare_exchange_strong(expected, true)) {
        std::memcpy(s.path, path.c_str(), path.size() + 1);
        s.armed.store(true);
        slot_ = &s;
        return;
      }
    }
  }
  ~SignalGuard() {
    if (slot_ == nullptr) return;
    slot_->armed.store(false);
    slot_->busy.store(false);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  Slot* slot_ = nullptr;
};

}  // namespace

Status ReplaceFile(Env* env, const std::string& path, const std::function<Status(File*)>& write,
                   ReplaceOption option) {
  std::string tmp;
  Result<std::unique_ptr<File>> f = CreateTempFile(env, path, &tmp);
  if (!f.ok()) return f.status();
  SignalGuard guard(option == ReplaceOption::kRemoveTempOnSignal && env == Env::Posix(), tmp);
  Status s = write(f->get());
  if (s.ok()) s = (*f)->Sync();
  f->reset();  // closed before the rename
  if (s.ok()) s = env->Rename(tmp, path);
  if (!s.ok()) {
    env->Remove(tmp);
    return s;
  }
  return env->SyncDirOf(path);
}

Status WriteFileAtomic(Env* env, const std::string& path, const std::string& data) {
  return ReplaceFile(env, path, [&](File* f) { return f->WriteAt(0, data.data(), data.size()); });
}

}  // namespace ddl
