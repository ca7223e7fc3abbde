#include "replica/stop_signal.h"

#include <signal.h>
#include <time.h>

#include <atomic>

namespace ddl::replica {

namespace {

volatile sig_atomic_t g_stop = 0;
std::atomic<bool> g_installed{false};

void OnStop(int) { g_stop = 1; }

}  // namespace

void CatchStopSignals() {
  if (g_installed.exchange(true)) return;
  struct sigaction sa = {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool StopRequested() { return g_stop != 0; }

bool SleepUnlessStopped(double seconds) {
  while (seconds > 0 && !g_stop) {
    double step = seconds < 0.1 ? seconds : 0.1;
    struct timespec ts = {time_t(step), long((step - time_t(step)) * 1e9)};
    nanosleep(&ts, nullptr);
    seconds -= step;
  }
  return !g_stop;
}

}  // namespace ddl::replica
