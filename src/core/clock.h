// Elapsed wall time for timings and timeouts: one steady clock for the whole project.
#pragma once

#include <chrono>

namespace unmask {

using SteadyClock = std::chrono::steady_clock;

// Seconds from `start` to now on the steady clock (never negative, unaffected by clock changes).
inline double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

}  // namespace unmask
