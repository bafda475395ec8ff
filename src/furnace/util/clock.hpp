#pragma once
// Clock: the wall clock as a seam, so that what records a time (the run history) is tested with
// fixed times.

#include <cstdint>

namespace furnace::util {

class Clock {
public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual std::int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
public:
  std::int64_t now_ms() const override;
};

// The process's SystemClock.
const Clock& system_clock();

} // namespace furnace::util
