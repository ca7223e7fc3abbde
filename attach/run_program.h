// run_program.h - run another program (mount(8), umount, ourselves) and
// wait for it, without a shell.
#pragma once

#include <string>
#include <vector>

namespace ddl::attach {

// Runs argv (argv[0] looked up in PATH) and waits. Returns its exit status
// (128+signal if killed, 127 if it could not start); its stderr is returned
// in *err when err is not null, else inherited.
int RunProgram(const std::vector<std::string>& argv, std::string* err = nullptr);

// The path of the running ddloop binary.
std::string SelfExe();

// p made absolute against the current directory (not resolved); "" stays "".
std::string AbsolutePath(const std::string& p);

// p with every symbolic link resolved (realpath(3)), or p itself when it
// cannot be resolved (it does not exist).
std::string ResolvedPath(const std::string& p);

}  // namespace ddl::attach
