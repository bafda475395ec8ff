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

// The compressed size of an image as a registry lists it: the sum of its layers' (and config's)
// `size` in the image manifest of `repository` ("pytorch/pytorch", "library/debian") at
// `reference` (a tag or "sha256:…"), anonymous GETs only. A manifest list or OCI index is
// followed to its linux/`arch` entry ("amd64", "arm64"). Errors: not_found, unavailable (no
// answer, or a registry that wants a login), invalid (a manifest without sizes).
core::Result<long long> manifest_layer_bytes(const std::string& base_url,
                                             const std::string& repository,
                                             const std::string& reference,
                                             const std::string& arch,
                                             std::chrono::milliseconds timeout);

} // namespace furnace::engine
