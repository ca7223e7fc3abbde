// serve_dir.h - the files of a served directory DIR (serve.h): the
// DIR/current link and the DIR/.snapshots/<uuid> mount points. Stateless
// functions on paths; the caller holds DIR/lock. Thread-compatible.
#pragma once

#include <string>

#include "deltafile/status.h"

namespace ddl::replica {

constexpr char kCurrentName[] = "current";
constexpr char kSnapshotsName[] = ".snapshots";

// "replica serve DIR": the owner recorded in DIR's attachments.
std::string ServeOwner(const std::string& dir);
// DIR/.snapshots/<uuid>.
std::string SnapshotMountDir(const std::string& dir, const std::string& uuid);

// Points DIR/current at .snapshots/<uuid> (relative, so DIR may be exported
// or bind-mounted elsewhere): a new link at a random name beside it
// (symlink(2) refuses an existing name), one rename over DIR/current, then
// DIR synced. A failure leaves DIR/current as it was.
Status PointCurrent(const std::string& dir, const std::string& uuid);

// The uuid DIR/current points at, "" when it is missing or not our link.
std::string CurrentUuid(const std::string& dir);

// Removes DIR/current (missing is fine) and syncs DIR.
Status RemoveCurrent(const std::string& dir);

// Checks DIR/current is missing or a symbolic link, and removes the link
// temp files a killed serve left (".current.*.tmp").
Status CheckServeDir(const std::string& dir);

}  // namespace ddl::replica
