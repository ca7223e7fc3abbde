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

Json SnapshotJson(const vol::SnapshotInfo& s) {
  Json j;
  j.Str("name", s.name)
      .Num("id", s.id)
      .Str("uuid", s.uuid.ToString())
      .Str("fingerprint", s.fingerprint.Hex())
      .Num("chunks", s.chunks)
      .Str("created", IsoTime(s.create_ns));
  return j;
}

}  // namespace ddl::cli
