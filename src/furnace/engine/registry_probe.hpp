#pragma once
// Asks a registry whether it answers the Distribution API (GET <url>/v2/), bounded in time.

#include <furnace/core/error.hpp>

#include <chrono>
#include <string>

namespace furnace::engine {

struct RegistryAnswer {
  long status = 0; // 200 (open) or 401 (needs login) mean a registry answers
  double seconds = 0;
};

// `base_url`: "http://127.0.0.1:5000" or "https://mirror.example/" (a trailing slash is fine).
core::Result<RegistryAnswer> probe_registry(const std::string& base_url,
                                            std::chrono::milliseconds timeout);

} // namespace furnace::engine
