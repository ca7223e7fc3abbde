// replace_file.cc - ReplaceFile (replace_file.h).
#include "ddloop/replace_file.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace ddl::cli {

namespace {

char g_tmp_path[4096];  // removed if a signal stops us (async-signal-safe unlink)

void OnSignal(int sig) {
  if (g_tmp_path[0]) unlink(g_tmp_path);
  signal(sig, SIG_DFL);
  raise(sig);
}

}  // namespace

Status ReplaceFile(Env* env, const std::string& out, const std::function<Status(File*)>& write) {
  std::string tmp;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, OnSignal);
  Status s;
  {
    auto f = CreateTempFile(env, out, &tmp);
    if (!f.ok()) return f.status();
    std::snprintf(g_tmp_path, sizeof g_tmp_path, "%s", tmp.c_str());
    s = write(f->get());
    if (s.ok()) s = (*f)->Sync();
  }
  if (s.ok()) s = env->Rename(tmp, out);
  if (s.ok()) s = env->SyncDirOf(out);
  if (!s.ok()) env->Remove(tmp);
  g_tmp_path[0] = 0;
  return s;
}

}  // namespace ddl::cli
