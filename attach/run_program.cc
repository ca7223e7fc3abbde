// run_program.cc - posix_spawn and wait.
#include "attach/run_program.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

extern char** environ;

namespace ddl::attach {

int RunProgram(const std::vector<std::string>& argv, std::string* err) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipefd[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (err && ::pipe2(pipefd, O_CLOEXEC) == 0) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
  }
  pid_t pid;
  int r = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (pipefd[1] >= 0) ::close(pipefd[1]);
  if (r != 0) {
    if (pipefd[0] >= 0) ::close(pipefd[0]);
    return 127;
  }
  if (pipefd[0] >= 0) {
    char buf[512];
    ssize_t n;
    while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) err->append(buf, static_cast<size_t>(n));
    ::close(pipefd[0]);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "ddloop";
  buf[n] = '\0';
  return buf;
}

std::string AbsolutePath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char buf[PATH_MAX];
  return std::string(::getcwd(buf, sizeof buf) ? buf : ".") + "/" + p;
}

std::string ResolvedPath(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

}  // namespace ddl::attach
