// volume_commands.cc - what the `ddloop volume` and `ddloop snapshot`
// commands share (volume_commands.h).
#include "ddloop/volume_commands.h"

namespace ddl::cli {

Command CommandGroup(CLI::App* group, std::vector<Command> subs) {
  group->require_subcommand(1);
  return {group, [subs] {
            for (const Command& c : subs)
              if (c.app->parsed()) return c.run();
            return InvalidArgument("no subcommand given");
          }};
}

}  // namespace ddl::cli
