#include "clock.hpp"

#include <chrono>

namespace furnace::util {

std::int64_t SystemClock::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Clock& system_clock() {
  static const SystemClock k_clock;
  return k_clock;
}

} // namespace furnace::util
