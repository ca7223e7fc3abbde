// stop_signal.h - long-running replica commands (sync --watch, serve) stop
// cleanly on SIGINT or SIGTERM (systemd's stop): the handler only sets a
// flag; the loop finishes or abandons its step and returns.
#pragma once

namespace ddl::replica {

// Installs the handlers (once; later calls do nothing).
void CatchStopSignals();
// A stop was asked for.
bool StopRequested();
// Sleeps up to `seconds`; false (early) when a stop was asked for.
bool SleepUnlessStopped(double seconds);

}  // namespace ddl::replica
